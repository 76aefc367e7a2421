package main

import (
	"fmt"
	"strings"
	"sync"
)

// capture keeps the first cap/2 and last cap-cap/2 bytes of a stream and counts the rest, so a command printing
// 100 MB costs a few KB. Rendering cuts on UTF-8 boundaries and puts a marker where the middle was dropped.
type capture struct {
	mu     sync.Mutex
	cap    int
	head   []byte
	tail   []byte
	total  int
	hc, tc int
}

func newCapture(cap int) *capture {
	return &capture{cap: cap, hc: cap / 2, tc: cap - cap/2}
}

func (c *capture) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(b)
	c.total += n
	if len(c.head) < c.hc {
		take := min(c.hc-len(c.head), len(b))
		c.head = append(c.head, b[:take]...)
		b = b[take:]
	}
	if len(b) > 0 && c.tc > 0 {
		c.tail = append(c.tail, b...)
		if len(c.tail) > 2*c.tc {
			c.tail = append([]byte(nil), c.tail[len(c.tail)-c.tc:]...)
		}
	}
	return n, nil
}

func truncationMarker(dropped int) string {
	return fmt.Sprintf("\n…[truncated %d bytes]…\n", dropped)
}

// render returns the capture within budget bytes (at most the cap): whole when it fits, else head + marker + tail.
func (c *capture) render(budget int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := c.tail
	if len(tail) > c.tc {
		tail = tail[len(tail)-c.tc:]
	}
	head := c.head
	if c.total <= c.cap {
		whole := append(append([]byte(nil), c.head...), c.tail...)
		head, tail = whole, whole
	}
	b := min(budget, c.cap)
	if c.total <= b {
		return strings.ToValidUTF8(string(head), "\uFFFD"), false
	}
	keptHead := head[:utf8Floor(head, b/2)]
	keptTail := tail[utf8Ceil(tail, len(tail)-(b-b/2)):]
	dropped := c.total - len(keptHead) - len(keptTail)
	return string(keptHead) + truncationMarker(dropped) + string(keptTail), true
}

// utf8Floor is the largest index <= i such that buf[:index] ends on a whole UTF-8 character.
func utf8Floor(buf []byte, i int) int {
	at := min(i, len(buf))
	start := at - 1
	for start > 0 && at-start < 4 && buf[start]&0xc0 == 0x80 {
		start--
	}
	if start < 0 {
		return 0
	}
	lead := buf[start]
	size := 1
	switch {
	case lead >= 0xf0:
		size = 4
	case lead >= 0xe0:
		size = 3
	case lead >= 0xc0:
		size = 2
	}
	if start+size > at {
		return start
	}
	return at
}

// utf8Ceil is the smallest index >= i (and >= 0) that does not fall inside a UTF-8 character.
func utf8Ceil(buf []byte, i int) int {
	at := max(i, 0)
	limit := at + 3
	for at < len(buf) && at < limit && buf[at]&0xc0 == 0x80 {
		at++
	}
	return at
}

// renderOutputs splits one budget between stdout and stderr: all of both when they fit, else the smaller
// stream gets up to half and the larger the rest.
func renderOutputs(out, errs *capture, budget int) (string, string, bool) {
	ob, eb := budget, budget
	if out.total+errs.total > budget {
		half := budget / 2
		if out.total <= errs.total {
			ob = min(out.total, half)
			eb = budget - ob
		} else {
			eb = min(errs.total, half)
			ob = budget - eb
		}
	}
	o, ot := out.render(ob)
	e, et := errs.render(eb)
	return toValid(o), toValid(e), ot || et
}

func toValid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
