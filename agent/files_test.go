package main

import (
	"os"
	"path/filepath"
	"testing"
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
