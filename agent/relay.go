package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Where the kernel does not honour a thread's fsuid (gVisor), a root agent cannot act as the sandbox user
// in-process. It then runs each file operation in a child of itself that *is* the sandbox user (`fileop`), and
// relays frames: the request and its stdin/ack frames to the child, the child's frames back to the host.

func init() {
	register("fileop", fileopMain)
	register("find-marked", findMarkedMain)
}

// probeFS reports whether this kernel lets a thread take another fsuid (and give it back).
func probeFS(uid, gid int) bool {
	runtime.LockOSThread()
	if setFS(uid, gid) != nil {
		setFS(0, 0)
		runtime.UnlockOSThread()
		return false
	}
	if setFS(0, 0) == nil {
		runtime.UnlockOSThread()
	}
	return true
}

// relayFileOp runs one file operation in a `fileop` child running as the sandbox user.
func (a *agent) relayFileOp(req *request) {
	self, err := os.Executable()
	if err != nil {
		a.conn.reply(req.ID, nil, refuse("exec_failed", "cannot find the agent binary: %v", err))
		return
	}
	cmd := exec.Command(self, "fileop", "--workspace", a.ws)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: a.user.credential()}
	stdin, err := cmd.StdinPipe()
	if err == nil {
		var out *bufio.Reader
		if pipe, perr := cmd.StdoutPipe(); perr == nil {
			out = bufio.NewReaderSize(pipe, 256<<10)
			err = cmd.Start()
			if err == nil {
				a.conn.relays.Store(req.ID, stdin)
				stdin.Write(req.raw)
				if req.Op == "tar_in" {
					go a.forwardInput(req.ID, stdin)
				}
				a.relayReplies(req.ID, out)
				a.conn.relays.Delete(req.ID)
				stdin.Close()
				cmd.Wait()
				return
			}
		} else {
			err = perr
		}
	}
	a.conn.reply(req.ID, nil, refuse("exec_failed", "cannot start a file operation as the sandbox user: %v", err))
}

// forwardInput passes the host's stdin chunks on to the child in order (the child acks them itself).
func (a *agent) forwardInput(id string, w io.Writer) {
	box := a.conn.inboxOf(id)
	defer a.conn.closeInbox(id)
	for chunk := range box.ch {
		line, _ := json.Marshal(request{ID: id, Op: "stdin", Data: chunk})
		if _, err := w.Write(append(line, '\n')); err != nil {
			return
		}
	}
	line, _ := json.Marshal(request{ID: id, Op: "stdin", EOF: true})
	w.Write(append(line, '\n'))
}

// relayReplies forwards the child's frames until its final one (or its end, which is then reported).
func (a *agent) relayReplies(id string, out *bufio.Reader) {
	for {
		line, err := readLine(out)
		if len(line) > 0 {
			a.conn.sendRaw(line)
			var f frame
			if json.Unmarshal(line, &f) == nil && f.Stream == "" && f.Ack == 0 {
				return
			}
		}
		if err != nil {
			a.conn.reply(id, nil, refuse("exec_failed", "the file operation ended without a result"))
			return
		}
	}
}

// fileopMain serves exactly one file operation on stdin/stdout, as whoever it runs as.
func fileopMain(args []string) int {
	fs := flag.NewFlagSet("fileop", flag.ContinueOnError)
	ws := fs.String("workspace", "/workspace", "the workspace directory")
	if fs.Parse(args) != nil {
		return 2
	}
	a := &agent{conn: newConn(os.Stdout), ws: *ws, user: identity{uid: os.Geteuid(), gid: os.Getegid()}}
	done := make(chan struct{})
	first := true
	go a.conn.readLoop(os.Stdin, func(req *request) {
		if first {
			first = false
			a.fileOp(req)
			close(done)
		}
	})
	<-done
	return 0
}

// findMarkedMain prints the pids carrying a command's marker (run as the sandbox user, who may read them).
func findMarkedMain(args []string) int {
	if len(args) != 2 {
		return 2
	}
	self, _ := strconv.Atoi(args[1])
	for _, pid := range markedPids([]byte("KEEL_EXEC_ID="+args[0]), self) {
		fmt.Println(pid)
	}
	return 0
}

// markedPidsAsUser lists the marked pids as the sandbox user: in-thread with fsuid, else through a child.
func (a *agent) markedPidsAsUser(marker string) []int {
	if !a.user.switching || a.user.fsuid {
		var pids []int
		a.asUser(func() error {
			pids = markedPids([]byte("KEEL_EXEC_ID="+marker), os.Getpid())
			return nil
		})
		return pids
	}
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	cmd := exec.Command(self, "find-marked", marker, strconv.Itoa(os.Getpid()))
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.user.credential()}
	out, _ := cmd.Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
