package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
)

// keepEntries is how many journal entries survive: a retry comes soon after its attempt.
const keepEntries = 200

// journal records the result of every keyed command so a retried call returns it instead of running again.
// It lives in the agent's private state directory (root-owned, mode 0700), out of the commands' reach, and it
// dies with the sandbox, exactly when the commands' effects do.
type journal struct {
	dir      string
	mu       sync.Mutex
	inFlight map[string]chan struct{}
}

func openJournal(state string) (*journal, error) {
	dir := filepath.Join(state, "journal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(state, 0o700); err != nil {
		return nil, err
	}
	return &journal{dir: dir, inFlight: map[string]chan struct{}{}}, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func (j *journal) path(key string) string {
	readable := unsafeChars.ReplaceAllString(key, "_")
	if len(readable) > 64 {
		readable = readable[:64]
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(j.dir, readable+"-"+hex.EncodeToString(sum[:8])+".json")
}

// begin returns the recorded result for key, or a channel to wait on while another call with the key runs, or
// (nil, nil) after marking key as running by the caller, who must call finish.
func (j *journal) begin(key string) (*execResult, chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r := j.load(key); r != nil {
		return r, nil
	}
	if ch, ok := j.inFlight[key]; ok {
		return nil, ch
	}
	j.inFlight[key] = make(chan struct{})
	return nil, nil
}

func (j *journal) load(key string) *execResult {
	data, err := os.ReadFile(j.path(key))
	if err != nil {
		return nil
	}
	var r execResult
	if json.Unmarshal(data, &r) != nil {
		return nil
	}
	r.Replayed = true
	return &r
}

// finish records r for key (unless r is nil: an aborted command leaves no entry) and wakes any waiters.
func (j *journal) finish(key string, r *execResult) {
	if r != nil {
		j.store(key, r)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if ch, ok := j.inFlight[key]; ok {
		close(ch)
		delete(j.inFlight, key)
	}
}

func (j *journal) store(key string, r *execResult) {
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	path := j.path(key)
	tmp := path + ".tmp"
	// A full state directory loses the entry, not the command's result.
	if os.WriteFile(tmp, data, 0o600) != nil || os.Rename(tmp, path) != nil {
		os.Remove(tmp)
		return
	}
	j.prune()
}

func (j *journal) prune() {
	entries, err := os.ReadDir(j.dir)
	if err != nil || len(entries) <= keepEntries {
		return
	}
	type aged struct {
		name string
		mod  int64
	}
	all := make([]aged, 0, len(entries))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].mod < all[b].mod })
	for _, e := range all[:len(all)-keepEntries] {
		os.Remove(filepath.Join(j.dir, e.name))
	}
}
