package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// export runs one export of dir and returns its tar members (name -> content or "<type>").
func export(t *testing.T, dir string, opts snapshotOpts, base *exportIndex) (map[string]*tar.Header, map[string]string, *exporter, error) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	ex := newExporter(tw, dir, opts, base, newMarker())
	err := ex.run()
	if err != nil {
		return nil, nil, ex, err
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	headers, bodies := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := rawNames(hdr); err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		headers[hdr.Name], bodies[hdr.Name] = hdr, string(body)
	}
	return headers, bodies, ex, nil
}

func TestAFileThatShrinksWhileReadIsPaddedToItsHeaderSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	os.WriteFile(path, bytes.Repeat([]byte("x"), 100_000), 0o644)
	fi, _ := os.Lstat(path)
	os.Truncate(path, 10) // after the walk saw 100,000 bytes
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	ex := newExporter(tw, dir, snapshotOpts{}, nil, "t")
	if err := ex.writeEntry(path, "log", fi); err != nil {
		t.Fatalf("a shrinking file failed the export: %v", err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	hdr, _ := tr.Next()
	body, _ := io.ReadAll(tr)
	if hdr.Size != 100_000 || len(body) != 100_000 || !strings.HasPrefix(string(body), "xxxxxxxxxx\x00") {
		t.Fatalf("got size %d, %d bytes", hdr.Size, len(body))
	}
}

func TestHostileEntriesDoNotStallTheExport(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("loop", filepath.Join(dir, "loop"))
	os.Symlink(".", filepath.Join(dir, "self"))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := "caf\xe9-\xff.txt"
	os.WriteFile(filepath.Join(dir, raw), []byte("latin-1 name"), 0o644)
	os.Symlink("\xfe-target", filepath.Join(dir, "odd-link"))
	done := make(chan struct{})
	var headers map[string]*tar.Header
	var bodies map[string]string
	var ex *exporter
	go func() {
		headers, bodies, ex, _ = export(t, dir, snapshotOpts{}, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the export hung (a FIFO opened, or a symlink loop followed)")
	}
	if headers["./loop"].Linkname != "loop" || headers["./self"].Linkname != "." {
		t.Fatalf("symlinks: %v", headers)
	}
	if bodies["./"+raw] != "latin-1 name" || headers["./odd-link"].Linkname != "\xfe-target" {
		t.Fatalf("non-UTF-8 names did not round-trip: %q", keys(headers))
	}
	if _, ok := headers["./pipe"]; ok || len(ex.specials) != 1 || ex.specials[0] != "pipe" {
		t.Fatalf("the FIFO: %v", ex.specials)
	}
}

func TestCapsRefuseBeforeReading(t *testing.T) {
	dir := t.TempDir()
	f, _ := os.Create(filepath.Join(dir, "sparse"))
	f.Truncate(10 << 30) // 10 GB of holes
	f.Close()
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i))), []byte("x"), 0o644)
	}
	_, _, ex, err := export(t, dir, snapshotOpts{MaxBytes: 1 << 30}, nil)
	if err == nil || !strings.Contains(err.Error(), "snapshot cap maxBytes") || ex.sent > 5 { // the five 1-byte files before it, never the sparse file
		t.Fatalf("maxBytes: %v (sent %d)", err, ex.sent)
	}
	if _, _, _, err = export(t, dir, snapshotOpts{MaxFiles: 3, MaxBytes: 11 << 30}, nil); err == nil || !strings.Contains(err.Error(), "snapshot cap maxFiles") {
		t.Fatalf("maxFiles: %v", err)
	}
	if _, _, _, err = export(t, dir, snapshotOpts{MaxMs: 1, MaxBytes: 11 << 30}, nil); err == nil || !strings.Contains(err.Error(), "snapshot cap maxMs") {
		t.Fatalf("maxMs: %v", err)
	}
}

func TestAnExportAgainstTheLastIndexSendsOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "gone"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		for _, f := range []string{"1", "2"} {
			os.WriteFile(filepath.Join(dir, d, f), []byte(d+f), 0o644)
		}
	}
	_, _, first, err := export(t, dir, snapshotOpts{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.next.started = first.next.started.Add(time.Hour) // as if the files were written long before it
	os.WriteFile(filepath.Join(dir, "a", "1"), []byte("changed"), 0o644)
	os.RemoveAll(filepath.Join(dir, "gone"))
	os.Remove(filepath.Join(dir, "b", "2"))
	headers, bodies, _, err := export(t, dir, snapshotOpts{}, first.next)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"./", "./a/1", "./b/", "./b/2", "./gone"} // a/ itself did not change
	if got := keys(headers); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	if bodies["./a/1"] != "changed" || headers["./gone"].PAXRecords[paxDeleted] != "1" || headers["./"].PAXRecords[paxBase] != first.next.token {
		t.Fatalf("delta: %v", headers)
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestNamesInMessagesAreTerminalSafe(t *testing.T) {
	if got := quoteName("ok name.txt"); got != "ok name.txt" {
		t.Fatal(got)
	}
	if got := quoteName("evil\x1b[31m\xff"); got != `evil\x1b[31m\xff` {
		t.Fatal(got)
	}
}

func TestEntriesChangedJustBeforeAnExportAreSentAgain(t *testing.T) {
	started := time.Unix(1_700_000_000, 500_000_000)
	at := func(d time.Duration) statKey { return statKey{ctime: started.Add(d).UnixNano()} }
	if !racy(at(-10*time.Millisecond), started) || !racy(at(time.Second), started) {
		t.Fatal("an entry changed within a clock tick of the export must not be trusted")
	}
	if racy(at(-time.Second), started) {
		t.Fatal("an entry changed a second before is settled")
	}
	if !racy(statKey{ctime: time.Unix(1_700_000_000, 0).UnixNano()}, started) {
		t.Fatal("whole-second timestamps get a wider window")
	}
}
