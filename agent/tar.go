package main

import (
	"archive/tar"
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// tarOut streams a tar of a workspace directory (default: all of it) as `data` frames, entries named `./rel`
// like `tar -C dir -c .`. Unreadable entries are skipped, as GNU tar would (with a warning) and go on. With
// `snapshot` options the export is capped and may be incremental (snapshot.go).
func (a *agent) tarOut(req *request) (any, error) {
	p := orWorkspace(req.Path)
	root, err := a.resolve(p)
	if err != nil {
		return nil, err
	}
	opts := snapshotOpts{}
	if req.Snapshot != nil {
		opts = *req.Snapshot
	}
	w := a.conn.openStream(req.ID, "data")
	defer w.close()
	counter := &countingWriter{w: w}
	// Whole chunks per frame: unbuffered, every small file would cost three frames (header, body, padding) and acks.
	buf := bufio.NewWriterSize(counter, chunkBytes)
	tw := tar.NewWriter(buf)
	ex := newExporter(tw, root, opts, baseIndex(opts.Base), newMarker())
	err = ex.run()
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = buf.Flush()
	}
	if oe, ok := err.(*opError); ok {
		return nil, oe
	}
	if err != nil {
		return nil, refuse("io_error", "exporting %q: %v", p, err)
	}
	if req.Snapshot != nil {
		keepIndex(ex.next)
	}
	return ex.summary(counter.n), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// tarIn extracts the tar the host streams as `stdin` frames into a workspace directory (created if missing).
// Every entry must land inside the workspace once symlinks already on disk are followed; the first one that
// would not stops the extraction with path_escape.
func (a *agent) tarIn(req *request) error {
	box := a.conn.inboxOf(req.ID)
	defer a.conn.closeInbox(req.ID)
	input := &inboxReader{c: a.conn, id: req.ID, box: box}
	defer io.Copy(io.Discard, input) // drain what the host still sends, so its stream completes
	p := orWorkspace(req.Path)
	dest, err := a.resolve(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return ioRefusal(p, err)
	}
	tr := tar.NewReader(input)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return refuse("exec_failed", "not a valid tar archive: %v", err)
		}
		if err := rawNames(hdr); err != nil {
			return err
		}
		if err := a.extractEntry(dest, hdr, tr); err != nil {
			return err
		}
	}
}

// rawNames puts back the exact bytes of names that are not UTF-8 (carried as base64 PAX records, snapshot.go).
func rawNames(hdr *tar.Header) error {
	for key, field := range map[string]*string{paxRawPath: &hdr.Name, paxRawLink: &hdr.Linkname} {
		if v, ok := hdr.PAXRecords[key]; ok {
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return refuse("exec_failed", "archive entry %q: bad %s record", hdr.Name, key)
			}
			*field = string(raw)
		}
	}
	return nil
}

func (a *agent) extractEntry(dest string, hdr *tar.Header, r io.Reader) error {
	name := filepath.Clean("/" + hdr.Name)[1:]
	if name == "" {
		return nil // the archive's root directory: dest itself
	}
	target := filepath.Join(dest, name)
	parent, err := realPath(filepath.Dir(target))
	if err != nil || !a.inside(parent) {
		return refuse("path_escape", "archive entry %q resolves outside %s", hdr.Name, a.ws)
	}
	target = filepath.Join(parent, filepath.Base(target))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return ioRefusal(hdr.Name, err)
	}
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
			os.Remove(target)
		}
		if err := os.MkdirAll(target, mode|0o700); err != nil {
			return ioRefusal(hdr.Name, err)
		}
		os.Chmod(target, mode|0o700)
	case tar.TypeReg, tar.TypeRegA:
		return writeEntry(target, mode, hdr.ModTime, r, hdr.Name)
	case tar.TypeSymlink:
		os.Remove(target)
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return ioRefusal(hdr.Name, err)
		}
	case tar.TypeLink:
		src, err := realPath(filepath.Join(dest, filepath.Clean("/" + hdr.Linkname)[1:]))
		if err != nil || !a.inside(src) {
			return refuse("path_escape", "archive hard link %q points outside %s", hdr.Name, a.ws)
		}
		os.Remove(target)
		if err := os.Link(src, target); err != nil {
			return ioRefusal(hdr.Name, err)
		}
	}
	return nil
}

// writeEntry replaces target (never writing through a symlink that sits there) with the entry's content.
func writeEntry(target string, mode fs.FileMode, mtime time.Time, r io.Reader, name string) error {
	if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
		if err := os.RemoveAll(target); err != nil {
			return ioRefusal(name, err)
		}
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, mode|0o600)
	if err != nil {
		return ioRefusal(name, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioRefusal(name, err)
	}
	os.Chmod(target, mode)
	os.Chtimes(target, mtime, mtime)
	return nil
}
