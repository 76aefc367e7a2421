package main

// Workspace exports for snapshots: bounded (entries, bytes, time), safe against hostile workspaces (symlinks are
// never followed, FIFOs/sockets/devices are skipped and named, a file that shrinks while read is padded to its
// header size, names that are not UTF-8 travel as base64) and incremental: the agent keeps the last export's
// (size, mtime, ctime, inode, mode) index, and an export against it sends only entries that changed plus deletions.

import (
	"archive/tar"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// PAX records the host reads (src/storage/tree-snapshot-store.ts).
const (
	paxIndex   = "KEEL.index"    // root entry: the token of the index this export leaves behind
	paxBase    = "KEEL.base"     // root entry: this export holds only the changes since that index
	paxDeleted = "KEEL.deleted"  // an entry of the base that is gone
	paxRawPath = "KEEL.path.b64" // the exact bytes of a path that is not UTF-8
	paxRawLink = "KEEL.link.b64" // the exact bytes of a symlink target that is not UTF-8
)

// An entry whose ctime is this close to an export's start may change again within the same clock tick, unseen
// by its stat, so the next export sends it again rather than trusting the index. Timestamps are as fine as the
// kernel's tick (a few ms) on tmpfs, overlayfs and ext4; whole seconds on some file systems.
const (
	racyTick   = 50 * time.Millisecond
	racyCoarse = 2 * time.Second
)

func racy(k statKey, started time.Time) bool {
	window := racyTick
	if k.ctime%1e9 == 0 {
		window = racyCoarse // a file system with whole-second timestamps
	}
	return k.ctime >= started.Add(-window).UnixNano()
}

// snapshotOpts bound one export and name the index it may be incremental against. Zero means no cap.
type snapshotOpts struct {
	MaxFiles int64  `json:"maxFiles,omitempty"`
	MaxBytes int64  `json:"maxBytes,omitempty"`
	MaxMs    int64  `json:"maxMs,omitempty"`
	Base     string `json:"base,omitempty"`
}

type statKey struct {
	size, mtime, ctime int64
	ino                uint64
	mode               uint32
}

type exportIndex struct {
	token   string
	started time.Time
	entries map[string]statKey
}

// lastIndex is the index of this agent's last complete export (one agent process per sandbox).
var lastIndex struct {
	sync.Mutex
	idx *exportIndex
}

// exporter walks one workspace into a tar writer.
type exporter struct {
	tw       *tar.Writer
	root     string
	opts     snapshotOpts
	deadline time.Time
	base     *exportIndex // nil: a full export
	next     *exportIndex
	files    int64
	bytes    int64
	sent     int64
	skipped  int
	specials []string
	buf      []byte
	stat     syscall.Stat_t
}

func newExporter(tw *tar.Writer, root string, opts snapshotOpts, base *exportIndex, token string) *exporter {
	e := &exporter{tw: tw, root: root, opts: opts, base: base, buf: make([]byte, 256<<10)}
	size := 0
	if base != nil {
		size = len(base.entries)
	}
	e.next = &exportIndex{token: token, started: time.Now(), entries: make(map[string]statKey, size)}
	if opts.MaxMs > 0 {
		e.deadline = e.next.started.Add(time.Duration(opts.MaxMs) * time.Millisecond)
	}
	return e
}

// walked is one entry found by the first pass.
type walked struct {
	path, rel string
}

// run walks the workspace once, checking every cap before anything is read (so a 10 GB sparse file or a million
// files fail at once, wherever they sit), then sends what changed and what is gone.
func (e *exporter) run() error {
	var found []walked
	err := filepath.WalkDir(e.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			e.skipped++
			return nil
		}
		w, err := e.visit(path)
		if w != nil {
			found = append(found, *w)
		}
		return err
	})
	for _, w := range found {
		if err != nil {
			break
		}
		if w.rel == "." || !e.unchanged(w.rel, e.next.entries[w.rel]) {
			err = e.send(w)
		}
	}
	if err == nil && e.base != nil {
		err = e.writeDeletions()
	}
	return err
}

func (e *exporter) overTime() bool {
	return !e.deadline.IsZero() && time.Now().After(e.deadline)
}

// visit counts an entry against the caps and indexes it; specials and unreadable entries are not kept. One lstat
// into a reused buffer and no FileInfo: this is the whole cost of an unchanged entry.
func (e *exporter) visit(path string) (*walked, error) {
	e.files++
	if e.opts.MaxFiles > 0 && e.files > e.opts.MaxFiles {
		return nil, refuse("too_large", "snapshot cap maxFiles: the workspace has more than %d entries", e.opts.MaxFiles)
	}
	if e.files%64 == 0 && e.overTime() {
		return nil, refuse("too_large", "snapshot cap maxMs: walking the workspace took more than %d ms", e.opts.MaxMs)
	}
	st := &e.stat
	if err := syscall.Lstat(path, st); err != nil {
		e.skipped++
		return nil, nil
	}
	rel := e.relOf(path)
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		e.bytes += st.Size // apparent size: a sparse file counts whole, so it is refused before it is read
		if e.opts.MaxBytes > 0 && e.bytes > e.opts.MaxBytes {
			return nil, refuse("too_large", "snapshot cap maxBytes: the workspace's files exceed %d bytes (at %s)", e.opts.MaxBytes, quoteName(rel))
		}
	case syscall.S_IFDIR, syscall.S_IFLNK:
	default:
		e.specials = append(e.specials, rel) // FIFOs, sockets, devices: never opened, not workspace content
		return nil, nil
	}
	e.next.entries[rel] = statKey{
		size:  st.Size,
		mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
		ino:   st.Ino,
		mode:  st.Mode,
	}
	return &walked{path: path, rel: rel}, nil
}

func (e *exporter) relOf(path string) string {
	if path == e.root {
		return "."
	}
	return strings.TrimPrefix(path[len(e.root):], "/")
}

// send writes one new or changed entry, as it is now.
func (e *exporter) send(w walked) error {
	fi, err := os.Lstat(w.path)
	if err != nil {
		e.skipped++
		delete(e.next.entries, w.rel) // not sent: the next export tries it again
		return nil
	}
	return e.writeEntry(w.path, w.rel, fi)
}

func (e *exporter) unchanged(rel string, key statKey) bool {
	if e.base == nil {
		return false
	}
	old, ok := e.base.entries[rel]
	return ok && old == key && !racy(old, e.base.started)
}

func (e *exporter) writeEntry(path, rel string, fi fs.FileInfo) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(path); err != nil {
			e.skipped++
			return nil
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		e.skipped++
		return nil
	}
	hdr.Uname, hdr.Gname = "", ""
	setName(hdr, rel, fi.IsDir())
	if rel == "." {
		hdr.PAXRecords[paxIndex] = e.next.token
		if e.base != nil {
			hdr.PAXRecords[paxBase] = e.base.token
		}
	}
	if !fi.Mode().IsRegular() {
		return e.tw.WriteHeader(hdr)
	}
	f, err := os.Open(path)
	if err != nil {
		e.skipped++
		delete(e.next.entries, rel) // not sent: the next export tries it again
		return nil
	}
	defer f.Close()
	if err := e.tw.WriteHeader(hdr); err != nil {
		return err
	}
	return e.copyBody(f, hdr.Size)
}

// setName sets a member's name (`./rel`, directories with a trailing slash) and its link target; bytes that are
// not UTF-8 go in KEEL.*.b64 records (JSON and the host's tar reader carry only text), the name keeps a readable form.
func setName(hdr *tar.Header, rel string, dir bool) {
	hdr.PAXRecords = map[string]string{}
	name := "./" + filepath.ToSlash(rel)
	if rel == "." {
		name = "./"
	} else if dir {
		name += "/"
	}
	hdr.Name = name
	if !utf8.ValidString(name) {
		hdr.PAXRecords[paxRawPath] = base64.StdEncoding.EncodeToString([]byte(name))
		hdr.Name = quoteName(name)
	}
	if hdr.Linkname != "" && !utf8.ValidString(hdr.Linkname) {
		hdr.PAXRecords[paxRawLink] = base64.StdEncoding.EncodeToString([]byte(hdr.Linkname))
		hdr.Linkname = quoteName(hdr.Linkname)
	}
}

// quoteName is a name made printable for messages and tar names (the raw bytes travel separately): invalid UTF-8
// and control characters (a name holding terminal escapes ends up in `keel state`) are escaped Go-style.
func quoteName(s string) string {
	plain := utf8.ValidString(s)
	for _, r := range s {
		plain = plain && strconv.IsGraphic(r)
	}
	if plain {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// copyBody copies a file's content up to the size its header promised. A file that grew is cut there; one that
// shrank while it was read is padded with zeros (the tar must hold exactly that many bytes), and the next export
// sends it again because its ctime changed.
func (e *exporter) copyBody(f io.Reader, size int64) error {
	var n int64
	for n < size {
		if e.overTime() {
			return refuse("too_large", "snapshot cap maxMs: reading the workspace took more than %d ms", e.opts.MaxMs)
		}
		r, err := f.Read(e.buf[:min(int64(len(e.buf)), size-n)])
		if r > 0 {
			if _, werr := e.tw.Write(e.buf[:r]); werr != nil {
				return werr
			}
			n += int64(r)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	e.sent += n
	return e.pad(size - n)
}

func (e *exporter) pad(missing int64) error {
	if missing > 0 {
		clear(e.buf)
	}
	for missing > 0 {
		if e.overTime() {
			return refuse("too_large", "snapshot cap maxMs: reading the workspace took more than %d ms", e.opts.MaxMs)
		}
		w := min(int64(len(e.buf)), missing)
		if _, err := e.tw.Write(e.buf[:w]); err != nil {
			return err
		}
		missing -= w
	}
	return nil
}

// writeDeletions names the base's entries that are gone, only the topmost of a removed subtree.
func (e *exporter) writeDeletions() error {
	var gone []string
	for rel := range e.base.entries {
		if _, ok := e.next.entries[rel]; ok {
			continue
		}
		parent := filepath.Dir(rel)
		if _, kept := e.next.entries[parent]; kept || parent == "." {
			gone = append(gone, rel)
		}
	}
	sort.Strings(gone)
	for _, rel := range gone {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o600, ModTime: e.next.started}
		setName(hdr, rel, false)
		hdr.PAXRecords[paxDeleted] = "1"
		if err := e.tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return nil
}

// summary is the export's result frame.
func (e *exporter) summary(bytes int64) map[string]any {
	out := map[string]any{"bytes": bytes, "skipped": e.skipped, "files": e.files, "fileBytes": e.bytes, "index": e.next.token}
	if len(e.specials) > 0 {
		names := e.specials[:min(len(e.specials), 20)]
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = quoteName(n)
		}
		out["specials"] = quoted
		out["specialCount"] = len(e.specials)
	}
	return out
}

// baseIndex is the last export's index when the host still holds the snapshot made from it.
func baseIndex(token string) *exportIndex {
	lastIndex.Lock()
	defer lastIndex.Unlock()
	if token == "" || lastIndex.idx == nil || lastIndex.idx.token != token {
		return nil
	}
	return lastIndex.idx
}

func keepIndex(idx *exportIndex) {
	lastIndex.Lock()
	lastIndex.idx = idx
	lastIndex.Unlock()
}
