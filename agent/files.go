package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// fileOp runs a file operation as the sandbox user (see asUser) and replies.
func (a *agent) fileOp(req *request) {
	var result any
	err := a.asUser(func() error {
		var err error
		switch req.Op {
		case "read":
			result, err = a.readFile(req.Path, req.MaxBytes)
		case "write":
			err = a.writeFile(req.Path, req.Data)
		case "remove":
			err = a.removeFile(req.Path)
		case "list":
			result, err = a.listDir(req.Path)
		case "stat":
			result, err = a.stat(req.Path)
		case "tar_in":
			err = a.tarIn(req)
		case "tar_out":
			result, err = a.tarOut(req)
		}
		return err
	})
	a.conn.reply(req.ID, result, err)
}

// resolve turns a workspace path (relative, or absolute inside it) into a real path, following symlinks the
// way the kernel would (a missing tail is kept as is), and refuses anything that lands outside the workspace.
func (a *agent) resolve(p string) (string, error) {
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(a.ws, p)
	}
	real, err := realPath(full)
	if err != nil {
		return "", refuse("io_error", "%q: %v", p, err)
	}
	if !a.inside(real) {
		return "", refuse("path_escape", "%q resolves to %s, outside %s", p, real, a.ws)
	}
	return real, nil
}

// orWorkspace is a directory a request names, where none means the workspace itself.
func orWorkspace(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func (a *agent) inside(real string) bool {
	return real == a.ws || strings.HasPrefix(real, a.ws+"/")
}

// realPath resolves every symlink in an absolute path; components that do not exist are appended lexically.
func realPath(path string) (string, error) {
	todo := strings.Split(filepath.Clean(path), "/")
	resolved := "/"
	for links := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, name)
		fi, err := os.Lstat(next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > 40 {
			return "", syscall.ELOOP
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return resolved, nil
}

// workdir resolves a command's working directory (default: the workspace), which must be an existing directory.
func (a *agent) workdir(p string) (string, error) {
	p = orWorkspace(p)
	var dir string
	check := a.asUser
	if !a.user.fsuid {
		// No per-thread fsuid (gVisor): check as the agent. The command's own chdir happens after it became the
		// sandbox user, so the kernel still judges the directory as that user.
		check = func(fn func() error) error { return fn() }
	}
	err := check(func() error {
		real, err := a.resolve(p)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			return refuse("not_found", "workdir %q is not a directory", p)
		}
		dir = real
		return nil
	})
	return dir, err
}

func ioRefusal(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("not_found", "%q does not exist", p)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return refuse("io_error", "%q: %v", p, err)
}

func (a *agent) readFile(p string, maxBytes int64) ([]byte, error) {
	real, err := a.resolve(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, ioRefusal(p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, ioRefusal(p, err)
	}
	if fi.IsDir() {
		return nil, refuse("io_error", "%q is a directory", p)
	}
	if maxBytes > 0 && fi.Size() > maxBytes {
		return nil, refuse("too_large", "%q is %d bytes, over the %d byte limit", p, fi.Size(), maxBytes)
	}
	data := make([]byte, 0, fi.Size())
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if maxBytes > 0 && int64(len(data)) > maxBytes {
			return nil, refuse("too_large", "%q is over the %d byte limit", p, maxBytes)
		}
		if err != nil {
			break
		}
	}
	return data, nil
}

func (a *agent) writeFile(p string, data []byte) error {
	real, err := a.resolve(p)
	if err != nil {
		return err
	}
	before, statErr := os.Stat(real)
	if statErr == nil && before.IsDir() {
		return refuse("io_error", "%q is a directory", p)
	}
	changed := statErr != nil || contentChanged(real, before, data)
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		return ioRefusal(p, err)
	}
	if err := os.WriteFile(real, data, 0o644); err != nil {
		return ioRefusal(p, err)
	}
	if statErr == nil && changed {
		if err := moveMtimePast(real, before.ModTime()); err != nil {
			return ioRefusal(p, err)
		}
	}
	return nil
}

// contentChanged reports whether data differs from the file's current content (read only when the sizes match).
func contentChanged(real string, before fs.FileInfo, data []byte) bool {
	if before.Size() != int64(len(data)) {
		return true
	}
	old, err := os.ReadFile(real)
	return err != nil || !bytes.Equal(old, data)
}

// moveMtimePast gives a rewritten file an mtime in a later whole second than its old one. Build tools that judge
// a file by size and whole-second mtime (Python's bytecode cache, make) would otherwise take a same-size edit
// within the same second for no change and run stale output.
func moveMtimePast(real string, old time.Time) error {
	after, err := os.Stat(real)
	if err != nil || after.ModTime().Unix() > old.Unix() {
		return err
	}
	next := time.Unix(old.Unix()+1, 0)
	return os.Chtimes(real, next, next)
}

// removeFile removes a file or symlink (never a directory); only the parent is resolved, so a symlink goes, not
// its target. A missing file is fine.
func (a *agent) removeFile(p string) error {
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(a.ws, p)
	}
	parent, name := filepath.Split(filepath.Clean(full))
	realParent, err := a.resolve(parent)
	if err != nil {
		return err
	}
	target := filepath.Join(realParent, name)
	if target == a.ws || name == "" || name == "." || name == ".." {
		return refuse("path_escape", "%q is the workspace itself", p)
	}
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return ioRefusal(p, err)
	}
	if fi.IsDir() {
		return refuse("io_error", "%q is a directory", p)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioRefusal(p, err)
	}
	return nil
}

type dirEntry struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

func entryType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	}
	return "other"
}

func (a *agent) listDir(p string) ([]dirEntry, error) {
	real, err := a.resolve(p)
	if err != nil {
		return nil, err
	}
	names, err := readDirNames(real)
	if err != nil {
		return nil, ioRefusal(p, err)
	}
	out := make([]dirEntry, 0, len(names))
	for _, n := range names {
		fi, err := os.Lstat(filepath.Join(real, n))
		if err != nil {
			continue
		}
		out = append(out, dirEntry{Name: n, Type: entryType(fi.Mode()), Size: fi.Size()})
	}
	return out, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

type statResult struct {
	Type    string `json:"type"`
	Size    int64  `json:"size"`
	Mode    uint32 `json:"mode"`
	MtimeMs int64  `json:"mtimeMs"`
}

// stat describes a path without following a final symlink.
func (a *agent) stat(p string) (*statResult, error) {
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(a.ws, p)
	}
	if filepath.Clean(full) == a.ws {
		full = a.ws + "/."
	}
	parent, name := filepath.Split(filepath.Clean(full))
	realParent, err := a.resolve(parent)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(filepath.Join(realParent, name))
	if err != nil {
		return nil, ioRefusal(p, err)
	}
	return &statResult{Type: entryType(fi.Mode()), Size: fi.Size(), Mode: uint32(fi.Mode().Perm()), MtimeMs: fi.ModTime().UnixMilli()}, nil
}
