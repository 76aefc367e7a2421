package main

import (
	"strings"
	"testing"
)

func captureOf(cap int, chunks ...string) *capture {
	c := newCapture(cap)
	for _, s := range chunks {
		c.Write([]byte(s))
	}
	return c
}

func TestKeepsOutputThatFits(t *testing.T) {
	if s, tr := captureOf(10, "hello", " you").render(10); s != "hello you" || tr {
		t.Fatalf("got %q %v", s, tr)
	}
	if s, tr := captureOf(10).render(10); s != "" || tr {
		t.Fatalf("got %q %v", s, tr)
	}
}

func TestCutsTheMiddleWithAMarker(t *testing.T) {
	s, tr := captureOf(10, "0123456789abcdefghij").render(10)
	if s != "01234"+truncationMarker(10)+"fghij" || !tr {
		t.Fatalf("got %q", s)
	}
	if truncationMarker(12345) != "\n…[truncated 12345 bytes]…\n" {
		t.Fatal("marker text changed")
	}
}

func TestSameResultHoweverChunked(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("line " + strings.Repeat("x", i%7) + "\n")
	}
	text := b.String()
	whole, _ := captureOf(101, text).render(101)
	for _, size := range []int{1, 3, 7, 64, 1000} {
		c := newCapture(101)
		for i := 0; i < len(text); i += size {
			c.Write([]byte(text[i:min(i+size, len(text))]))
		}
		if got, _ := c.render(101); got != whole {
			t.Fatalf("chunk size %d: %q != %q", size, got, whole)
		}
	}
}

func TestSmallerBudgetFromWhatWasKept(t *testing.T) {
	c := captureOf(100, strings.Repeat("a", 30), strings.Repeat("b", 30))
	if s, _ := c.render(20); s != strings.Repeat("a", 10)+truncationMarker(40)+strings.Repeat("b", 10) {
		t.Fatalf("got %q", s)
	}
	big := captureOf(100, strings.Repeat("a", 500), strings.Repeat("b", 500))
	if s, _ := big.render(20); s != strings.Repeat("a", 10)+truncationMarker(980)+strings.Repeat("b", 10) {
		t.Fatalf("got %q", s)
	}
}

func TestNeverSplitsAUTF8Character(t *testing.T) {
	text := strings.Repeat("é", 50) + strings.Repeat("€", 50)
	for cap := 1; cap < 40; cap++ {
		s, _ := captureOf(cap, text).render(cap)
		if strings.ContainsRune(s, '\uFFFD') {
			t.Fatalf("cap %d: %q", cap, s)
		}
	}
}

func TestHoldsAboutItsCap(t *testing.T) {
	c := newCapture(1000)
	chunk := []byte(strings.Repeat("x", 65536))
	for i := 0; i < 1600; i++ {
		c.Write(chunk)
	}
	if len(c.head)+len(c.tail) > 1000+2*500 {
		t.Fatalf("holds %d bytes", len(c.head)+len(c.tail))
	}
	if s, _ := c.render(1000); s != strings.Repeat("x", 500)+truncationMarker(1600*65536-1000)+strings.Repeat("x", 500) {
		t.Fatal("wrong rendering of 100 MiB")
	}
}

func TestRenderOutputsSplitsTheBudget(t *testing.T) {
	o, e, tr := renderOutputs(captureOf(100, "out"), captureOf(100, "err"), 10)
	if o != "out" || e != "err" || tr {
		t.Fatalf("both fit: %q %q", o, e)
	}
	o, e, _ = renderOutputs(captureOf(100, strings.Repeat("o", 100)), captureOf(100, "boom"), 20)
	if e != "boom" || o != strings.Repeat("o", 8)+truncationMarker(84)+strings.Repeat("o", 8) {
		t.Fatalf("small gets all: %q %q", o, e)
	}
	o, e, _ = renderOutputs(captureOf(100, strings.Repeat("o", 100)), captureOf(100, strings.Repeat("e", 100)), 20)
	if o != strings.Repeat("o", 5)+truncationMarker(90)+strings.Repeat("o", 5) || e != strings.Repeat("e", 5)+truncationMarker(90)+strings.Repeat("e", 5) {
		t.Fatalf("even split: %q %q", o, e)
	}
}
