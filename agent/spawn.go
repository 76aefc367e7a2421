package main

import (
	"io"
	"time"
)

// spawnStderrLive is how much of a spawned process's stderr is streamed as it comes; the final frame holds the
// capture (head and tail within `cap`), so a chatty process cannot flood the connection.
const spawnStderrLive = 64 << 10

// spawnResult is the final frame of a spawn: the process ended (by itself, on stdin EOF, or killed).
type spawnResult struct {
	ExitCode   int    `json:"exitCode"`
	Stderr     string `json:"stderr"`
	Killed     bool   `json:"killed"`
	DurationMs int64  `json:"durationMs"`
}

// spawn runs a long-lived process (an MCP stdio server) as the sandbox user: stdin from the host's `stdin` frames
// (no idle limit), stdout streamed as acked `stdout` frames, stderr captured (bounded) and streamed up to a budget.
// It has no timeout; it ends when the process exits or the host kills it (`kill` with this request's id).
func (a *agent) spawn(req *request) {
	if req.Cap <= 0 {
		req.Cap = 64 << 10
	}
	cwd, err := a.workdir(req.Workdir)
	if err == nil {
		var argv []string
		if argv, err = commandArgv(req); err == nil {
			err = a.runSpawned(req, argv, cwd)
		}
	}
	if err != nil {
		a.conn.closeInbox(req.ID)
		a.conn.reply(req.ID, nil, err)
	}
}

// runSpawned starts argv and replies with its spawnResult once it has ended; an error means it never started.
func (a *agent) runSpawned(req *request, argv []string, cwd string) error {
	req.Stdin = true
	run, p, pipes, err := a.launch(req, argv, cwd)
	if err != nil {
		return err
	}
	defer a.running.Delete(req.ID)
	started := time.Now()
	stderr := newCapture(req.Cap)
	ended := make(chan struct{})
	defer close(ended)
	outs := a.pumpSpawned(req, run, pipes, stderr, ended)
	exited := waitExit(p)
	var code int
	killed := false
	select {
	case code = <-exited:
	case <-run.killed:
		killed = true
		a.killTree(run)
		code = <-exited
	}
	a.killTree(run) // the process's children go with it
	select {
	case <-outs:
	case <-time.After(2 * time.Second):
	}
	e, _ := stderr.render(req.Cap)
	a.conn.reply(req.ID, spawnResult{ExitCode: code, Stderr: toValid(e), Killed: killed, DurationMs: time.Since(started).Milliseconds()}, nil)
	return nil
}

// pumpSpawned wires the process's pipes to the host. A host that stops acking stdout (it went away) gets the
// process killed rather than left blocked on a full pipe.
func (a *agent) pumpSpawned(req *request, run *execRun, pipes commandPipes, stderr *capture, ended <-chan struct{}) chan struct{} {
	box := a.conn.inboxOf(req.ID)
	go func() {
		defer a.conn.closeInbox(req.ID)
		io.Copy(pipes.stdin, &inboxReader{c: a.conn, id: req.ID, box: box, patient: true, stop: ended})
		pipes.stdin.Close()
	}()
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		defer pipes.stdout.Close()
		out := a.conn.openStream(req.ID, "stdout")
		defer out.close()
		if _, err := io.Copy(out, pipes.stdout); err != nil {
			a.killTree(run)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		defer pipes.stderr.Close()
		io.Copy(io.MultiWriter(stderr, &liveOutput{conn: a.conn, id: req.ID, name: "stderr", budget: spawnStderrLive}), pipes.stderr)
	}()
	both := make(chan struct{})
	go func() {
		<-done
		<-done
		close(both)
	}()
	return both
}
