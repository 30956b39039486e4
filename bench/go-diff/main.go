// The Go half of the differential probe (bench/go-diff.ts): reads cases as
// JSON lines on stdin, runs each on a fresh nats-server 2.9.10 fileStore, and
// prints one JSON line per case holding what every operation returned and
// what the store showed after it. The probe set after an operation is a
// function of the store's own state (probeSeqs, probeStarts), computed the
// same way on the TypeScript side, so as long as the states agree both sides
// ask the same questions. Built by bench/go-diff/build.sh.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

type limits struct {
	MaxMsgs    int64  `json:"maxMsgs"`
	MaxBytes   int64  `json:"maxBytes"`
	MaxMsgsPer int64  `json:"maxMsgsPerSubject"`
	Discard    string `json:"discard"`
}

func (l limits) diff() server.DiffLimits {
	return server.DiffLimits{MaxMsgs: l.MaxMsgs, MaxBytes: l.MaxBytes, MaxMsgsPer: l.MaxMsgsPer, DiscardNew: l.Discard == "new"}
}

type op struct {
	Op     string  `json:"op"`
	Subj   string  `json:"subj"`
	Hdr    *string `json:"hdr"`
	Msg    string  `json:"msg"`
	Seq    uint64  `json:"seq"`
	Keep   uint64  `json:"keep"`
	Limits limits  `json:"limits"`
}

type testCase struct {
	Dir       string   `json:"dir"`
	BlockSize uint64   `json:"goBlockSize"`
	Limits    limits   `json:"limits"`
	Filters   []string `json:"filters"`
	Ops       []op     `json:"ops"`
}

type obj = map[string]any

var knownErrors = []struct {
	err  error
	code string
}{
	{server.ErrStoreMsgNotFound, "ErrStoreMsgNotFound"},
	{server.ErrStoreEOF, "ErrStoreEOF"},
	{server.ErrMaxMsgs, "ErrMaxMsgs"},
	{server.ErrMaxBytes, "ErrMaxBytes"},
	{server.ErrMaxMsgsPerSubject, "ErrMaxMsgsPerSubject"},
	{server.ErrStoreClosed, "ErrStoreClosed"},
	{server.ErrMsgTooLarge, "ErrMsgTooLarge"},
	{server.ErrSequenceMismatch, "ErrSequenceMismatch"},
	{server.ErrInvalidSequence, "ErrInvalidSequence"},
	{server.ErrPurgeArgMismatch, "ErrPurgeArgMismatch"},
}

func code(err error) string {
	for _, k := range knownErrors {
		if errors.Is(err, k.err) {
			return k.code
		}
	}
	return "go: " + err.Error()
}

func msgObj(m *server.DiffMsg) obj {
	return obj{"seq": m.Seq, "subj": m.Subj, "hdr": string(m.Hdr), "msg": string(m.Msg)}
}

func filterWildcard(f string) bool {
	return f == "" || strings.ContainsAny(f, "*>")
}

// probeSeqs and probeStarts: keep in step with bench/go-diff.ts.
func probeSeqs(last uint64) []uint64 {
	seqs := []uint64{0}
	lo := uint64(1)
	if last > 301 {
		lo = last - 300
	}
	for s := lo; s <= last+2; s++ {
		seqs = append(seqs, s)
	}
	return seqs
}

func probeStarts(last uint64) []uint64 {
	prev := uint64(0)
	if last > 0 {
		prev = last - 1
	}
	return []uint64{0, 1, last / 2, prev, last, last + 1}
}

func observe(d *server.DiffStore, filters []string) obj {
	st := d.State()
	state := obj{
		"msgs": st.Msgs, "bytes": st.Bytes, "firstSeq": st.FirstSeq, "lastSeq": st.LastSeq,
		"numDeleted": st.NumDeleted, "numSubjects": st.NumSubjects,
	}
	deleted := append([]uint64{}, st.Deleted...)
	sort.Slice(deleted, func(i, j int) bool { return deleted[i] < deleted[j] })
	state["deleted"] = deleted
	if st.Lost != nil && len(st.Lost.Msgs) > 0 {
		state["lost"] = st.Lost.Msgs
	}
	loads := []any{}
	for _, s := range probeSeqs(st.LastSeq) {
		m, err := d.Load(s)
		if err != nil {
			loads = append(loads, obj{"seq": s, "err": code(err)})
		} else {
			loads = append(loads, msgObj(m))
		}
	}
	queries := []any{}
	for _, f := range filters {
		wc := filterWildcard(f)
		for _, start := range probeStarts(st.LastSeq) {
			m, _, err := d.LoadNext(f, wc, start)
			q := obj{"q": "next", "f": f, "start": start}
			if err != nil {
				q["err"] = code(err)
			} else {
				q["seq"] = m.Seq
				q["subj"] = m.Subj
			}
			queries = append(queries, q)
			fs := d.FilteredState(start, f)
			queries = append(queries, obj{"q": "filtered", "f": f, "start": start, "msgs": fs.Msgs, "first": fs.First, "last": fs.Last})
		}
		last := obj{"q": "last", "f": f}
		if m, err := d.LoadLast(f); err != nil {
			last["err"] = code(err)
		} else {
			last["seq"] = m.Seq
		}
		queries = append(queries, last)
		subjects := obj{}
		for s, ss := range d.SubjectsState(f) {
			subjects[s] = obj{"msgs": ss.Msgs, "first": ss.First, "last": ss.Last}
		}
		queries = append(queries, obj{"q": "subjects", "f": f, "subjects": subjects})
	}
	return obj{"state": state, "loads": loads, "queries": queries}
}

func apply(d *server.DiffStore, o op) (obj, error) {
	r := obj{}
	setErr := func(err error) {
		if err != nil {
			r["err"] = code(err)
		}
	}
	switch o.Op {
	case "store":
		var hdr []byte
		if o.Hdr != nil {
			hdr = []byte(*o.Hdr)
		}
		seq, err := d.Store(o.Subj, hdr, []byte(o.Msg))
		if err == nil {
			r["seq"] = seq
		}
		setErr(err)
	case "skip":
		r["seq"] = d.Skip()
	case "remove", "erase":
		var ok bool
		var err error
		if o.Op == "remove" {
			ok, err = d.Remove(o.Seq)
		} else {
			ok, err = d.Erase(o.Seq)
		}
		r["ok"] = ok
		setErr(err)
	case "purge":
		n, err := d.Purge()
		r["n"] = n
		setErr(err)
	case "purgeEx":
		n, err := d.PurgeEx(o.Subj, o.Seq, o.Keep)
		r["n"] = n
		setErr(err)
	case "compact":
		n, err := d.Compact(o.Seq)
		r["n"] = n
		setErr(err)
	case "truncate":
		setErr(d.Truncate(o.Seq))
	case "reopen":
		if err := d.Reopen(); err != nil {
			return nil, err
		}
	case "config":
		setErr(d.UpdateConfig(o.Limits.diff()))
	default:
		return nil, fmt.Errorf("unknown op %q", o.Op)
	}
	return r, nil
}

func run(c testCase) (obs []any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	d, err := server.OpenDiffStore(filepath.Clean(c.Dir), c.BlockSize, c.Limits.diff())
	if err != nil {
		return nil, err
	}
	defer d.Stop()
	for i, o := range c.Ops {
		r, err := apply(d, o)
		if err != nil {
			return obs, fmt.Errorf("op %d (%s): %v", i, o.Op, err)
		}
		ob := observe(d, c.Filters)
		ob["result"] = r
		obs = append(obs, ob)
	}
	return obs, nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var c testCase
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		obs, err := run(c)
		line := obj{"obs": obs}
		if err != nil {
			line["fatal"] = err.Error()
		}
		if err := enc.Encode(line); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		out.Flush()
		os.RemoveAll(c.Dir)
	}
}
