package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// idleStreamTimeout ends a transfer whose host stopped sending or acking (a worker that died mid-transfer).
const idleStreamTimeout = 2 * time.Minute

// maxFrameBytes bounds one request line (a 10 MiB file write is ~14 MB of base64).
const maxFrameBytes = 64 << 20

// window is how many data chunks may be in flight on one stream before the sender waits for an ack.
const window = 16

// chunkBytes is the payload size of streamed data frames.
const chunkBytes = 256 << 10

// request is every frame the host sends; which fields matter depends on Op.
type request struct {
	ID        string            `json:"id"`
	Op        string            `json:"op"`
	Cmd       string            `json:"cmd,omitempty"`
	Argv      []string          `json:"argv,omitempty"`
	Workdir   string            `json:"workdir,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	TimeoutMs int64             `json:"timeoutMs,omitempty"`
	Cap       int               `json:"cap,omitempty"`
	Key       string            `json:"key,omitempty"`
	Stdin     bool              `json:"stdin,omitempty"`
	Stream    bool              `json:"stream,omitempty"`
	Path      string            `json:"path,omitempty"`
	MaxBytes  int64             `json:"maxBytes,omitempty"`
	Data      []byte            `json:"data,omitempty"`
	EOF       bool              `json:"eof,omitempty"`
	Target    string            `json:"target,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Snapshot  *snapshotOpts     `json:"snapshot,omitempty"`
	raw       []byte            // the request line as received (relayed to a file-op child)
}

// frame is every frame the agent sends. Each request gets exactly one final frame (Result or Error set);
// before it, `stream` frames carry data and `ack` frames grant the host credit for stdin chunks.
type frame struct {
	ID     string    `json:"id"`
	Result any       `json:"result,omitempty"`
	Error  *opError  `json:"error,omitempty"`
	Stream string    `json:"stream,omitempty"`
	Data   []byte    `json:"data,omitempty"`
	Ack    int       `json:"ack,omitempty"`
	Hello  *helloMsg `json:"hello,omitempty"`
}

type helloMsg struct {
	Version string `json:"version"`
}

// opError is a refusal or failure with a code the host maps to its own error type.
type opError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *opError) Error() string { return e.Code + ": " + e.Message }

func refuse(code, format string, args ...any) *opError {
	return &opError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// conn is one frame stream. Writes are serialised; reads are dispatched to handlers by op.
type conn struct {
	out    *bufio.Writer
	mu     sync.Mutex
	inputs sync.Map // request id -> *inbox (stdin chunks from the host)
	relays sync.Map // request id -> io.Writer (a file-op child's stdin: the host's acks go there)
	credit sync.Map // request id -> chan struct{} (acks from the host for our stream chunks)
}

func newConn(w io.Writer) *conn {
	return &conn{out: bufio.NewWriterSize(w, 128<<10)}
}

// sendRaw writes a frame line produced elsewhere (a file-op child's reply) as one write.
func (c *conn) sendRaw(line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(line)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		c.out.WriteByte('\n')
	}
	c.out.Flush()
}

func (c *conn) send(f frame) {
	line, err := json.Marshal(f)
	if err != nil {
		line, _ = json.Marshal(frame{ID: f.ID, Error: refuse("exec_failed", "cannot encode reply: %v", err)})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(line)
	c.out.WriteByte('\n')
	c.out.Flush()
}

func (c *conn) reply(id string, result any, err error) {
	if err == nil {
		if result == nil {
			result = struct{}{}
		}
		c.send(frame{ID: id, Result: result})
		return
	}
	oe, ok := err.(*opError)
	if !ok {
		oe = &opError{Code: "io_error", Message: err.Error()}
	}
	c.send(frame{ID: id, Error: oe})
}

// readLoop reads request lines until the stream ends, handing each to dispatch.
func (c *conn) readLoop(r io.Reader, dispatch func(*request)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				c.send(frame{Error: refuse("bad_request", "unparseable frame: %v", jerr)})
			} else {
				req.raw = line
				c.route(&req, dispatch)
			}
		}
		if err != nil {
			return err
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxFrameBytes {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			return nil, nil
		}
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// route handles flow-control frames inline (they must never wait) and starts a goroutine for everything else.
func (c *conn) route(req *request, dispatch func(*request)) {
	if w, ok := c.relays.Load(req.ID); ok && req.Op == "ack" {
		w.(io.Writer).Write(req.raw)
		return
	}
	switch req.Op {
	case "stdin":
		if box, ok := c.inputs.Load(req.ID); ok {
			box.(*inbox).push(req.Data, req.EOF)
		}
	case "ack":
		if ch, ok := c.credit.Load(req.ID); ok {
			select {
			case ch.(chan struct{}) <- struct{}{}:
			default:
			}
		}
	default:
		if req.Op == "tar_in" || req.Op == "spawn" || (req.Op == "exec" && req.Stdin) {
			// Before the handler starts: the host sends input right behind the request.
			c.openInbox(req.ID)
		}
		go dispatch(req)
	}
}

// inbox buffers one request's stdin chunks; the host never has more than `window` unacked, so it stays small.
type inbox struct {
	ch chan []byte
}

func (c *conn) openInbox(id string) *inbox {
	box := &inbox{ch: make(chan []byte, window*2)}
	c.inputs.Store(id, box)
	return box
}

// inboxOf is the inbox route opened for request id.
func (c *conn) inboxOf(id string) *inbox {
	if box, ok := c.inputs.Load(id); ok {
		return box.(*inbox)
	}
	return c.openInbox(id)
}

func (b *inbox) push(data []byte, eof bool) {
	if len(data) > 0 {
		select {
		case b.ch <- data:
		default: // a host over its window: drop rather than block the reader (the stream will be corrupt, and say so)
		}
	}
	if eof {
		close(b.ch)
	}
}

// inboxReader adapts an inbox to io.Reader, acking each chunk once it is consumed.
type inboxReader struct {
	c    *conn
	id   string
	box  *inbox
	cur  []byte
	done bool
	// patient readers wait for input as long as it takes (a spawned server idles between requests), until stop closes.
	patient bool
	stop    <-chan struct{}
}

func (r *inboxReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.done {
			return 0, io.EOF
		}
		var chunk []byte
		var ok bool
		if r.patient {
			select {
			case chunk, ok = <-r.box.ch:
			case <-r.stop:
				return 0, io.EOF
			}
		} else {
			select {
			case chunk, ok = <-r.box.ch:
			case <-time.After(idleStreamTimeout):
				return 0, refuse("io_error", "the host stopped sending input")
			}
		}
		if !ok {
			r.done = true
			return 0, io.EOF
		}
		r.cur = chunk
		r.c.send(frame{ID: r.id, Ack: 1})
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (c *conn) closeInbox(id string) {
	c.inputs.Delete(id)
}

// streamWriter sends data frames for one request, waiting for an ack whenever `window` chunks are unacked.
type streamWriter struct {
	c        *conn
	id       string
	name     string
	acks     chan struct{}
	inFlight int
}

func (c *conn) openStream(id, name string) *streamWriter {
	acks := make(chan struct{}, window*2)
	c.credit.Store(id, acks)
	return &streamWriter{c: c, id: id, name: name, acks: acks}
}

func (w *streamWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), chunkBytes)
		for w.inFlight >= window {
			select {
			case <-w.acks:
				w.inFlight--
			case <-time.After(idleStreamTimeout):
				return written, refuse("io_error", "the host stopped reading")
			}
		}
		w.c.send(frame{ID: w.id, Stream: w.name, Data: append([]byte(nil), p[:n]...)})
		w.inFlight++
		written += n
		p = p[n:]
	}
	return written, nil
}

func (w *streamWriter) close() {
	w.c.credit.Delete(w.id)
}
