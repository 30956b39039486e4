// One run of one workload of ../shared/bench/WORKLOADS.md on nats-server's
// Go fileStore, the twin of bench/workloads.ts: `gobench <id> <dir>` prints
// one JSON line {"id","value","unit","extra","rssMiB"}, so bench/run.ts can
// treat it as one more runtime. Same subjects, same xorshift payloads, same
// counts and the same clock boundaries as the TypeScript side; W3, W4, W5 and
// W6 read the store W1 leaves in <dir>/w1. Built by bench/go/build.sh.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Go's runtime asks for transparent huge pages on its heap (MADV_HUGEPAGE),
// which a kernel in THP "madvise" mode grants; the WebAssembly memory of V8
// and JavaScriptCore never asks, so their random reads take more TLB misses.
// GOBENCH_THP=off refuses them to this process (PR_SET_THP_DISABLE), to see
// how much of a read workload's figure they are.
var thpOff = os.Getenv("GOBENCH_THP") == "off"

func init() {
	if !thpOff {
		return
	}
	const prSetThpDisable = 41
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetThpDisable, 1, 0, 0, 0, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "GOBENCH_THP=off: prctl(PR_SET_THP_DISABLE):", errno)
		os.Exit(2)
	}
}

var regions = [4]string{"east", "west", "north", "south"}

// subjects[i] is the subject of message i (mod 1000).
var subjects = func() [1000]string {
	var s [1000]string
	for i := range s {
		s[i] = fmt.Sprintf("orders.%s.%d", regions[i%4], (i/4)%250)
	}
	return s
}()

// payloads is the pool of 1024 xorshift32 payloads bench/workloads.ts makes.
func payloads(size int) [][]byte {
	x := uint32(0x9e3779b9)
	out := make([][]byte, 1024)
	for k := range out {
		p := make([]byte, size)
		for j := range p {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			p[j] = byte(x)
		}
		out[k] = p
	}
	return out
}

type result struct {
	ID     string  `json:"id"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Extra  string  `json:"extra,omitempty"`
	RssMiB float64 `json:"rssMiB"`
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func must[T any](v T, err error) T {
	if err != nil {
		fail(err)
	}
	return v
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// asyncFlush (the default) leaves writes to fileStore's flusher goroutine,
// which batches them, as jetstore's storeMsg buffers until a flush or sync:
// the like-for-like mode for W1 and W2. GOBENCH_FLUSH=inplace writes each
// message as it is stored, what a single nats-server 2.9.10 asks of its
// streams (stream.go); W1 then runs 4-5x slower here. Reads do not change.
var asyncFlush = os.Getenv("GOBENCH_FLUSH") != "inplace"

func open(dir string) *server.BenchStore { return must(server.OpenBenchStore(dir, asyncFlush)) }

func stop(s *server.BenchStore) {
	if err := s.Stop(); err != nil {
		fail(err)
	}
}

// W1, W2: open, store count messages, stop (which writes out what is pending).
func appendMsgs(dir string, count, size int) result {
	os.RemoveAll(dir)
	pool := payloads(size)
	started := time.Now()
	s := open(dir)
	for i := 0; i < count; i++ {
		must(s.Store(subjects[i%1000], pool[i&1023]))
	}
	stop(s)
	d := time.Since(started)
	return result{Value: rate(count, d), Unit: "msgs/s",
		Extra: fmt.Sprintf("%.0f MB/s payload", float64(count*size)/d.Seconds()/1e6)}
}

// W3: 1,000,000 LoadMsg of the sequences bench/workloads.ts draws.
func randomRead(dir string) result {
	s := open(dir)
	first, last := s.Bounds()
	span := uint32(last - first + 1)
	x := uint32(12345)
	const reads = 1_000_000
	bytes := 0
	started := time.Now()
	for i := 0; i < reads; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		bytes += must(s.Load(first + uint64(x%span)))
	}
	d := time.Since(started)
	stop(s)
	if bytes == 0 {
		fail(fmt.Errorf("W3 read nothing"))
	}
	return result{Value: rate(reads, d), Unit: "msgs/s", Extra: fmt.Sprintf("%d reads", reads)}
}

// W4: LoadNextMsg from the first message to the end.
func scan(dir, filter string, wc bool) result {
	s := open(dir)
	started := time.Now()
	n := 0
	var seq uint64
	for {
		next, err := s.LoadNext(filter, wc, seq)
		if err == server.ErrStoreEOF {
			break
		} else if err != nil {
			fail(err)
		}
		seq = next + 1
		n++
	}
	d := time.Since(started)
	stop(s)
	return result{Value: rate(n, d), Unit: "msgs/s", Extra: fmt.Sprintf("%d messages", n)}
}

// W5: ms from open to the last message read. dropIndex removes what 2.9.10
// keeps beside each block (<n>.idx, the block's state; <n>.fss, its
// per-subject state), so every block is read and its state rebuilt.
func recovery(dir string, dropIndex bool) result {
	if dropIndex {
		for _, pattern := range []string{"*.idx", "*.fss"} {
			for _, f := range must(filepath.Glob(filepath.Join(dir, "msgs", pattern))) {
				os.Remove(f)
			}
		}
	}
	started := time.Now()
	s := open(dir)
	_, last := s.Bounds()
	must(s.Load(last))
	d := time.Since(started)
	stop(s)
	return result{Value: float64(d.Microseconds()) / 1000, Unit: "ms"}
}

// W6: µs per call, each query repeated for ~200 ms. fileStore 2.9.10 has no
// NumPending; SubjectsState is reported beside FilteredState.
func queries(dir string) result {
	s := open(dir)
	time200 := func(fn func()) float64 {
		calls := 0
		started := time.Now()
		for time.Since(started) < 200*time.Millisecond {
			fn()
			calls++
		}
		return float64(time.Since(started).Microseconds()) / float64(calls)
	}
	literal := time200(func() { s.FilteredState(1, "orders.east.7") })
	subjects := time200(func() { s.SubjectsState("orders.>") })
	stop(s)
	return result{Value: literal, Unit: "µs filteredState",
		Extra: fmt.Sprintf("numPending n/a in 2.9.10, subjectsState %.1f µs", subjects)}
}

// W7: 200,000 messages, remove every other one, then compact to half.
func remove(dir string) result {
	os.RemoveAll(dir)
	pool := payloads(128)
	s := open(dir)
	const count = 200_000
	for i := 0; i < count; i++ {
		must(s.Store(subjects[i%1000], pool[i&1023]))
	}
	started := time.Now()
	for seq := uint64(1); seq <= count; seq += 2 {
		must(s.Remove(seq))
	}
	removeD := time.Since(started)
	started = time.Now()
	must(s.Compact(count / 2))
	compactD := time.Since(started)
	stop(s)
	return result{Value: float64(removeD.Microseconds()) / 1000, Unit: "ms remove",
		Extra: fmt.Sprintf("%.1f ms compact", float64(compactD.Microseconds())/1000)}
}

// W8: 20,000 appends, each followed by BenchStore.Sync (fsync of the block
// file) before its writer goes on; writers goroutines draw from one counter.
// fileStore has no group commit: with 64 writers the fsyncs are only shared
// where the kernel merges concurrent ones.
func durable(dir string, writers int) result {
	os.RemoveAll(dir)
	pool := payloads(128)
	s := open(dir)
	const total = 20_000
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= total {
					return
				}
				must(s.Store(subjects[i%1000], pool[i&1023]))
				if err := s.Sync(); err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(started)
	stop(s)
	return result{Value: rate(total, d), Unit: "msgs/s"}
}

var workloads = map[string]func(root string) result{
	"W1":  func(r string) result { return appendMsgs(filepath.Join(r, "w1"), 1_000_000, 128) },
	"W2":  func(r string) result { return appendMsgs(filepath.Join(r, "w2"), 200_000, 1024) },
	"W3":  func(r string) result { return randomRead(filepath.Join(r, "w1")) },
	"W4a": func(r string) result { return scan(filepath.Join(r, "w1"), "", false) },
	"W4b": func(r string) result { return scan(filepath.Join(r, "w1"), "orders.east.*", true) },
	"W5a": func(r string) result { return recovery(filepath.Join(r, "w1"), false) },
	"W5b": func(r string) result { return recovery(filepath.Join(r, "w1"), true) },
	"W6":  func(r string) result { return queries(filepath.Join(r, "w1")) },
	"W7":  func(r string) result { return remove(filepath.Join(r, "w7")) },
	"W8a": func(r string) result { return durable(filepath.Join(r, "w8"), 1) },
	"W8b": func(r string) result { return durable(filepath.Join(r, "w8"), 64) },
}

// peakRssMiB is VmHWM: getrusage's maxrss would include the parent's peak at fork.
func peakRssMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err == nil {
		if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			return float64(kb) / 1024
		}
	}
	return 0
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "info" {
		// What bench/run.ts prints for each runtime, and the workloads this harness has.
		ids := make([]string, 0, len(workloads))
		for id := range workloads {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out, _ := json.Marshal(map[string]any{
			"runtime": "go", "version": runtime.Version(), "natsServer": server.VERSION, "workloads": ids,
			"flush": map[bool]string{true: "async", false: "inplace"}[asyncFlush],
			"thp":   map[bool]string{true: "off", false: "as the kernel gives"}[thpOff],
		})
		fmt.Println(string(out))
		return
	}
	if len(os.Args) != 3 || workloads[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: gobench <W1|W2|W3|W4a|W4b|W5a|W5b|W6|W7|W8a|W8b> <dir>")
		os.Exit(2)
	}
	r := workloads[os.Args[1]](os.Args[2])
	r.ID = os.Args[1]
	r.RssMiB = peakRssMiB()
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
