// Copied by bench/go-diff/build.sh (through bench/go/build.sh) into a private
// copy of nats-server's `server` package, never into nats-server's own tree:
// fileStore is unexported, so the differential runner's handle on it has to
// live in that package. It adds no behaviour: every method is one fileStore
// call, with the message's fields copied out because StoreMsg's are unexported.

package server

import "time"

// DiffLimits are the stream limits a differential case runs under.
type DiffLimits struct {
	MaxMsgs, MaxBytes, MaxMsgsPer int64
	DiscardNew                    bool
}

// DiffMsg is a loaded message: its sequence, subject, headers and payload.
type DiffMsg struct {
	Seq      uint64
	Subj     string
	Hdr, Msg []byte
}

// DiffStore is nats-server's fileStore as a stream with subjects `>` opens it
// (so every subject is tracked), with the case's block size and limits.
type DiffStore struct {
	fs        *fileStore
	dir       string
	blockSize uint64
	cfg       StreamConfig
	sm        StoreMsg
}

func diffConfig(l DiffLimits) StreamConfig {
	cfg := StreamConfig{
		Name: "diff", Subjects: []string{">"}, Storage: FileStorage,
		MaxMsgs: -1, MaxBytes: -1, MaxMsgsPer: -1, Discard: DiscardOld,
	}
	if l.MaxMsgs > 0 {
		cfg.MaxMsgs = l.MaxMsgs
	}
	if l.MaxBytes > 0 {
		cfg.MaxBytes = l.MaxBytes
	}
	if l.MaxMsgsPer > 0 {
		cfg.MaxMsgsPer = l.MaxMsgsPer
	}
	if l.DiscardNew {
		cfg.Discard = DiscardNew
	}
	return cfg
}

// OpenDiffStore opens (or creates) the store in dir.
func OpenDiffStore(dir string, blockSize uint64, l DiffLimits) (*DiffStore, error) {
	d := &DiffStore{dir: dir, blockSize: blockSize, cfg: diffConfig(l)}
	return d, d.open()
}

func (d *DiffStore) open() error {
	fs, err := newFileStore(
		FileStoreConfig{StoreDir: d.dir, BlockSize: d.blockSize, SyncInterval: 2 * time.Minute},
		d.cfg,
	)
	d.fs = fs
	return err
}

// Reopen stops the store and opens it again with the same configuration.
func (d *DiffStore) Reopen() error {
	if err := d.fs.Stop(); err != nil {
		return err
	}
	return d.open()
}

// UpdateConfig replaces the limits.
func (d *DiffStore) UpdateConfig(l DiffLimits) error {
	d.cfg = diffConfig(l)
	return d.fs.UpdateConfig(&d.cfg)
}

func (d *DiffStore) Store(subj string, hdr, msg []byte) (uint64, error) {
	seq, _, err := d.fs.StoreMsg(subj, hdr, msg)
	return seq, err
}
func (d *DiffStore) Skip() uint64                       { return d.fs.SkipMsg() }
func (d *DiffStore) Remove(seq uint64) (bool, error)    { return d.fs.RemoveMsg(seq) }
func (d *DiffStore) Erase(seq uint64) (bool, error)     { return d.fs.EraseMsg(seq) }
func (d *DiffStore) Purge() (uint64, error)             { return d.fs.Purge() }
func (d *DiffStore) Compact(seq uint64) (uint64, error) { return d.fs.Compact(seq) }
func (d *DiffStore) Truncate(seq uint64) error          { return d.fs.Truncate(seq) }
func (d *DiffStore) PurgeEx(subj string, seq, keep uint64) (uint64, error) {
	return d.fs.PurgeEx(subj, seq, keep)
}

func (d *DiffStore) copyOut(sm *StoreMsg) *DiffMsg {
	if sm == nil {
		return nil
	}
	return &DiffMsg{
		Seq: sm.seq, Subj: sm.subj,
		Hdr: append([]byte(nil), sm.hdr...), Msg: append([]byte(nil), sm.msg...),
	}
}

func (d *DiffStore) Load(seq uint64) (*DiffMsg, error) {
	sm, err := d.fs.LoadMsg(seq, &d.sm)
	return d.copyOut(sm), err
}

func (d *DiffStore) LoadNext(filter string, wc bool, start uint64) (*DiffMsg, uint64, error) {
	sm, skip, err := d.fs.LoadNextMsg(filter, wc, start, &d.sm)
	return d.copyOut(sm), skip, err
}

func (d *DiffStore) LoadLast(subj string) (*DiffMsg, error) {
	sm, err := d.fs.LoadLastMsg(subj, &d.sm)
	return d.copyOut(sm), err
}

func (d *DiffStore) State() StreamState { return d.fs.State() }
func (d *DiffStore) FilteredState(seq uint64, subj string) SimpleState {
	return d.fs.FilteredState(seq, subj)
}
func (d *DiffStore) SubjectsState(filter string) map[string]SimpleState {
	return d.fs.SubjectsState(filter)
}
func (d *DiffStore) Stop() error { return d.fs.Stop() }
