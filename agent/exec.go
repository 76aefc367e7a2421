package main

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// lingerGrace is how long background processes may hold a finished command's output before their group dies.
const lingerGrace = time.Second

// execResult is the final frame of an exec, and what the journal records.
type execResult struct {
	ExitCode   int    `json:"exitCode"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	TimedOut   bool   `json:"timedOut"`
	Truncated  bool   `json:"truncated"`
	DurationMs int64  `json:"durationMs"`
	Replayed   bool   `json:"replayed"`
}

// execRun is one running command, findable by request id for `kill`.
type execRun struct {
	pid     int
	marker  string
	killed  chan struct{}
	killOne sync.Once
}

func (a *agent) exec(req *request) {
	if req.TimeoutMs <= 0 || req.Cap <= 0 {
		a.conn.reply(req.ID, nil, refuse("bad_request", "timeoutMs and cap must be positive"))
		return
	}
	if req.Key == "" {
		r, err := a.runCommand(req)
		a.conn.reply(req.ID, r, err)
		return
	}
	for {
		done, wait := a.journal.begin(req.Key)
		if done != nil {
			a.conn.reply(req.ID, done, nil)
			return
		}
		if wait == nil {
			break
		}
		// The same key runs already (an attempt whose worker died): wait for its result instead of running twice.
		cancel := a.watchKill(req.ID)
		select {
		case <-wait:
			a.running.Delete(req.ID)
		case <-cancel:
			a.conn.reply(req.ID, nil, refuse("aborted", "aborted while waiting for the same command"))
			return
		}
	}
	r, err := a.runCommand(req)
	if err != nil || r == nil {
		a.journal.finish(req.Key, nil)
	} else {
		a.journal.finish(req.Key, r)
	}
	a.conn.reply(req.ID, r, err)
}

// watchKill registers a placeholder run so `kill` on this request id can cancel a wait.
func (a *agent) watchKill(id string) chan struct{} {
	run := &execRun{killed: make(chan struct{})}
	a.running.Store(id, run)
	return run.killed
}

// kill stops request id's command: its process group and every process carrying its marker. The command's
// exec then ends with an `aborted` error and no journal entry.
func (a *agent) kill(id string) {
	v, ok := a.running.Load(id)
	if !ok {
		return
	}
	run := v.(*execRun)
	run.killOne.Do(func() { close(run.killed) })
	if run.pid > 0 {
		a.killTree(run)
	}
}

func (a *agent) killTree(run *execRun) {
	for i := 0; i < 5; i++ {
		if syscall.Kill(-run.pid, syscall.SIGKILL) != nil {
			break
		}
	}
	a.killMarked(run.marker)
}

func newMarker() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runCommand runs one command to its end. A nil result with nil error never happens; an abort is an error.
func (a *agent) runCommand(req *request) (*execResult, error) {
	cwd, err := a.workdir(req.Workdir)
	if err != nil {
		return nil, err
	}
	argv, err := commandArgv(req)
	if err != nil {
		return nil, err
	}
	stdout, stderr := newCapture(req.Cap), newCapture(req.Cap)
	run, p, pipes, err := a.launch(req, argv, cwd)
	if err != nil {
		return nil, err
	}
	defer a.running.Delete(req.ID)

	started := time.Now()
	outs := a.pumpOutputs(req, pipes, stdout, stderr)
	code, timedOut, lingering, aborted := a.await(req, run, p, outs)
	if aborted {
		return nil, refuse("aborted", "the command was killed on request")
	}
	if timedOut {
		secs := strconv.FormatFloat(float64(req.TimeoutMs)/1000, 'g', -1, 64)
		stderr.Write([]byte("\n[keel] command timed out after " + secs + "s; its process group was killed\n"))
	}
	if lingering {
		stderr.Write([]byte("\n[keel] background processes still held the output after the command exited; their process group " +
			"was killed (start them with: setsid cmd > log 2>&1 & to keep them running)\n"))
	}
	o, e, truncated := renderOutputs(stdout, stderr, req.Cap)
	return &execResult{ExitCode: code, Stdout: o, Stderr: e, TimedOut: timedOut, Truncated: truncated,
		DurationMs: time.Since(started).Milliseconds()}, nil
}

// commandArgv is argv as given, or the command string under the image's bash (sh when there is no bash).
func commandArgv(req *request) ([]string, error) {
	if len(req.Argv) > 0 {
		path, err := systemLookPath(req.Argv[0])
		if err != nil {
			return nil, err
		}
		return append([]string{path}, req.Argv[1:]...), nil
	}
	for _, sh := range []string{"/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh"} {
		if fi, err := os.Stat(sh); err == nil && !fi.IsDir() {
			return []string{sh, "-c", req.Cmd}, nil
		}
	}
	return nil, refuse("exec_failed", "the sandbox image has no shell (/bin/bash or /bin/sh) to run a command string; pass argv instead")
}

// systemLookPath finds a program in the system directories only: never in the workspace, home or a user PATH.
func systemLookPath(name string) (string, error) {
	if len(name) > 0 && name[0] == '/' {
		return name, nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if fi, err := os.Stat(dir + "/" + name); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return dir + "/" + name, nil
		}
	}
	return "", refuse("not_found", "program %q not found in the system directories", name)
}

type commandPipes struct {
	stdout, stderr *os.File
	stdin          *os.File
}

// launch starts argv (start) and registers it as running under the request's id, so `kill` and an abort find it;
// the caller deletes it from a.running once the process has ended.
func (a *agent) launch(req *request, argv []string, cwd string) (*execRun, *os.Process, commandPipes, error) {
	run := &execRun{marker: newMarker(), killed: make(chan struct{})}
	p, pipes, err := a.start(req, argv, cwd, run.marker)
	if err != nil {
		return nil, nil, pipes, err
	}
	run.pid = p.Pid
	a.running.Store(req.ID, run)
	return run, p, pipes, nil
}

// start launches argv in its own session (so its process group is killable as a unit) as the sandbox user.
func (a *agent) start(req *request, argv []string, cwd, marker string) (*os.Process, commandPipes, error) {
	var pipes commandPipes
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, pipes, refuse("exec_failed", "pipe: %v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, pipes, refuse("exec_failed", "pipe: %v", err)
	}
	var inR *os.File
	if req.Stdin {
		inR, pipes.stdin, err = os.Pipe()
	} else {
		inR, err = os.Open(os.DevNull)
	}
	if err != nil {
		return nil, pipes, refuse("exec_failed", "stdin: %v", err)
	}
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Dir:   cwd,
		Env:   a.commandEnv(req.Env, marker),
		Files: []*os.File{inR, outW, errW},
		Sys:   &syscall.SysProcAttr{Setsid: true, Credential: a.user.credential()},
	})
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		if pipes.stdin != nil {
			pipes.stdin.Close()
		}
		return nil, pipes, refuse("exec_failed", "cannot start %s: %v", argv[0], err)
	}
	pipes.stdout, pipes.stderr = outR, errR
	return p, pipes, nil
}

// pumpOutputs copies the command's output into the captures (and to the host when it asked for a stream), and
// its stdin from the host. The returned channel closes when both outputs have ended.
func (a *agent) pumpOutputs(req *request, pipes commandPipes, stdout, stderr *capture) chan struct{} {
	if pipes.stdin != nil {
		box := a.conn.inboxOf(req.ID)
		go func() {
			defer a.conn.closeInbox(req.ID)
			io.Copy(pipes.stdin, &inboxReader{c: a.conn, id: req.ID, box: box})
			pipes.stdin.Close()
		}()
	}
	var wg sync.WaitGroup
	copyOut := func(f *os.File, c *capture, name string) {
		defer wg.Done()
		defer f.Close()
		var w io.Writer = c
		if req.Stream {
			w = io.MultiWriter(c, &liveOutput{conn: a.conn, id: req.ID, name: name, budget: req.Cap})
		}
		io.Copy(w, f)
	}
	wg.Add(2)
	go copyOut(pipes.stdout, stdout, "stdout")
	go copyOut(pipes.stderr, stderr, "stderr")
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// liveOutput streams output chunks to the host as they come, up to the output cap (the final frame has the rest).
type liveOutput struct {
	conn   *conn
	id     string
	name   string
	budget int
}

func (l *liveOutput) Write(p []byte) (int, error) {
	if l.budget > 0 {
		n := min(len(p), l.budget)
		l.budget -= n
		l.conn.send(frame{ID: l.id, Stream: l.name, Data: append([]byte(nil), p[:n]...)})
	}
	return len(p), nil
}

// await waits for the command and its output, enforcing the timeout, the linger rule and kill requests.
func (a *agent) await(req *request, run *execRun, p *os.Process, outs chan struct{}) (code int, timedOut, lingering, aborted bool) {
	exited := waitExit(p)
	deadline := time.NewTimer(time.Duration(req.TimeoutMs) * time.Millisecond)
	defer deadline.Stop()
	code = -1
	var linger <-chan time.Time
	for {
		select {
		case c := <-exited:
			code = c
			exited = nil
			linger = time.After(lingerGrace)
		case <-outs:
			outs = nil
		case <-linger:
			lingering = true
			a.killTree(run)
			linger = nil
		case <-deadline.C:
			timedOut = true
			a.killTree(run)
		case <-run.killed:
			a.killTree(run)
			aborted = true
			run.killed = nil
		}
		if exited == nil && outs == nil {
			break
		}
		if timedOut || aborted {
			// Everything is dead or dying: collect the exit status and the pipes' ends, then stop.
			if exited != nil {
				<-exited
				exited = nil
			}
			if outs != nil {
				select {
				case <-outs:
				case <-time.After(2 * time.Second):
				}
				outs = nil
			}
			break
		}
	}
	if timedOut {
		code = 124
	}
	return code, timedOut, lingering, aborted
}

// waitExit delivers the process's exit code (-1 when it cannot be had) once it has ended.
func waitExit(p *os.Process) chan int {
	exited := make(chan int, 1)
	go func() {
		st, err := p.Wait()
		if err != nil {
			exited <- -1
			return
		}
		exited <- exitCode(st.Sys().(syscall.WaitStatus))
	}()
	return exited
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
