// Copied by bench/go/build.sh into a private copy of nats-server's `server`
// package (never into nats-server's own tree): fileStore and newFileStore are
// unexported, so the benchmark's handle on them has to live in that package.
// It adds no behaviour of its own beyond BenchStore.Sync, see there.

package server

import "time"

// BenchStore is nats-server's fileStore opened as a JetStream stream on a
// single server opens it (stream.go): subjects `orders.>` (without subjects
// fileStore tracks none, and filtered reads find nothing), limits retention
// and no limits, so the default block size (8 MiB), and the background sync
// every 2 minutes. asyncFlush false is the server's own choice: every StoreMsg
// is written to the block file in place; true leaves writes to the block's
// flusher goroutine, which batches them as jetstore's storeMsg does.
type BenchStore struct {
	fs *fileStore
	sm StoreMsg
}

// OpenBenchStore opens (or creates) the store in dir.
func OpenBenchStore(dir string, asyncFlush bool) (*BenchStore, error) {
	fs, err := newFileStore(
		FileStoreConfig{StoreDir: dir, AsyncFlush: asyncFlush, SyncInterval: 2 * time.Minute},
		StreamConfig{Name: "bench", Subjects: []string{"orders.>"}, Storage: FileStorage},
	)
	if err != nil {
		return nil, err
	}
	return &BenchStore{fs: fs}, nil
}

// Store appends one message and returns its sequence.
func (b *BenchStore) Store(subj string, msg []byte) (uint64, error) {
	seq, _, err := b.fs.StoreMsg(subj, nil, msg)
	return seq, err
}

// Load reads message seq into a reused StoreMsg and returns its payload length.
func (b *BenchStore) Load(seq uint64) (int, error) {
	sm, err := b.fs.LoadMsg(seq, &b.sm)
	if err != nil {
		return 0, err
	}
	return len(sm.msg), nil
}

// LoadNext returns the sequence of the first message at or after start that
// matches filter; ErrStoreEOF past the end.
func (b *BenchStore) LoadNext(filter string, wc bool, start uint64) (uint64, error) {
	_, seq, err := b.fs.LoadNextMsg(filter, wc, start, &b.sm)
	return seq, err
}

// Bounds returns the first and last sequence.
func (b *BenchStore) Bounds() (first, last uint64) {
	var st StreamState
	b.fs.FastState(&st)
	return st.FirstSeq, st.LastSeq
}

// FilteredState is fileStore.FilteredState's message count.
func (b *BenchStore) FilteredState(sseq uint64, subj string) uint64 {
	return b.fs.FilteredState(sseq, subj).Msgs
}

// SubjectsState is the number of subjects fileStore.SubjectsState returns.
func (b *BenchStore) SubjectsState(filter string) int {
	return len(b.fs.SubjectsState(filter))
}

// Remove deletes message seq.
func (b *BenchStore) Remove(seq uint64) (bool, error) { return b.fs.RemoveMsg(seq) }

// Compact removes every message below seq.
func (b *BenchStore) Compact(seq uint64) (uint64, error) { return b.fs.Compact(seq) }

// Sync makes what was stored so far durable: it writes out what the last
// block holds unwritten and fsyncs that block's file, the step nats-server
// 2.10's SyncAlways adds after every write (2.9.10 has no such option; its
// background syncBlocks does the same for every block, plus index files).
// Messages are only ever appended to the last block, so this covers them.
func (b *BenchStore) Sync() error {
	b.fs.mu.RLock()
	mb := b.fs.lmb
	b.fs.mu.RUnlock()
	if mb == nil {
		return nil
	}
	if err := mb.flushPendingMsgs(); err != nil {
		return err
	}
	mb.mu.RLock()
	mfd := mb.mfd
	mb.mu.RUnlock()
	if mfd == nil {
		return nil
	}
	return mfd.Sync()
}

// Stop writes out what is pending, the index files, and closes the store.
func (b *BenchStore) Stop() error { return b.fs.Stop() }
