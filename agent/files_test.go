package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRealPathFollowsLinksAndKeepsMissingTails(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	os.MkdirAll(filepath.Join(ws, "sub"), 0o755)
	os.Symlink("/", filepath.Join(ws, "root"))
	os.Symlink("../..", filepath.Join(ws, "sub", "up"))
	a := &agent{ws: ws}
	for _, p := range []string{"../etc/passwd", "/etc/passwd", "root/etc", "sub/up/x", "a/../../x"} {
		if _, err := a.resolve(p); err == nil || err.(*opError).Code != "path_escape" {
			t.Fatalf("%s: want path_escape, got %v", p, err)
		}
	}
	for p, want := range map[string]string{"new/file": ws + "/new/file", "sub/../sub": ws + "/sub", ".": ws, ws + "/sub": ws + "/sub"} {
		if got, err := a.resolve(p); err != nil || got != want {
			t.Fatalf("%s: got %q %v, want %q", p, got, err, want)
		}
	}
}

func TestWriteMovesMtimePastTheOldWholeSecond(t *testing.T) {
	ws := t.TempDir()
	a := &agent{ws: ws}
	f := filepath.Join(ws, "calc.py")
	os.WriteFile(f, []byte("return a - b\n"), 0o644)
	future := time.Unix(time.Now().Unix()+100, 0) // the rewrite lands in the "same second" or earlier
	os.Chtimes(f, future, future)
	if err := a.writeFile("calc.py", []byte("return a + b\n")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.ModTime().Unix() <= future.Unix() {
		t.Fatalf("changed content kept mtime second %d (old %d)", fi.ModTime().Unix(), future.Unix())
	}
	os.Chtimes(f, future, future)
	if err := a.writeFile("calc.py", []byte("return a + b\n")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.ModTime().Unix() > future.Unix() {
		t.Fatal("unchanged content moved the mtime forward")
	}
}
