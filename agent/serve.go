package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() { register("serve", serve) }

// agent is the state of one serving agent: where the workspace is, whom commands run as, what is running.
type agent struct {
	conn    *conn
	ws      string
	home    string
	user    identity
	journal *journal
	running sync.Map // request id -> *execRun

	mu      sync.Mutex
	env     map[string]string // set by claim: the sandbox's own environment (manifest env)
	labels  map[string]string // set by claim: who owns the sandbox (read back by reapers)
	claimed chan struct{}
}

// serve runs the agent on stdin/stdout until stdin ends.
func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	ws := fs.String("workspace", "/workspace", "the workspace directory; file operations never leave it")
	state := fs.String("state", "/run/keel", "the agent's private state directory (journal); must be out of the sandbox user's reach")
	home := fs.String("home", "/home/keel", "HOME for commands")
	uid := fs.Int("uid", 1000, "uid commands and file operations run as (when the agent runs as root)")
	gid := fs.Int("gid", 1000, "gid commands and file operations run as (when the agent runs as root)")
	idle := fs.Int("idle-exit-ms", 0, "exit when not claimed within this many ms (warm-pool sandboxes); 0: never")
	nproc := fs.Int("nproc", 0, "RLIMIT_NPROC for commands (processes of their uid); 0: unchanged")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	a, err := newAgent(*ws, *state, *home, *uid, *gid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keel-agent: %v\n", err)
		return 1
	}
	if *nproc > 0 {
		// Inherited by every command: a fork bomb stops at this many processes of the sandbox user, before it
		// can starve the engine's pids limit that the agent (and gVisor's kernel) live under too.
		lim := syscall.Rlimit{Cur: uint64(*nproc), Max: uint64(*nproc)}
		if err := syscall.Setrlimit(rlimitNproc, &lim); err != nil {
			fmt.Fprintf(os.Stderr, "keel-agent: RLIMIT_NPROC: %v\n", err)
		}
	}
	if *idle > 0 {
		go a.exitUnlessClaimed(time.Duration(*idle) * time.Millisecond)
	}
	a.conn.send(frame{Hello: &helloMsg{Version: version}})
	a.conn.readLoop(os.Stdin, a.dispatch)
	return 0
}

func newAgent(ws, state, home string, uid, gid int) (*agent, error) {
	// Nothing the sandbox user controls may be our cwd.
	if err := os.Chdir("/"); err != nil {
		return nil, err
	}
	user, err := newIdentity(uid, gid)
	if err != nil {
		return nil, err
	}
	j, err := openJournal(state)
	if err != nil {
		return nil, err
	}
	return &agent{conn: newConn(os.Stdout), ws: ws, home: home, user: user, journal: j, claimed: make(chan struct{})}, nil
}

func (a *agent) exitUnlessClaimed(after time.Duration) {
	select {
	case <-a.claimed:
	case <-time.After(after):
		fmt.Fprintln(os.Stderr, "keel-agent: not claimed in time; exiting (idle pool sandbox)")
		os.Exit(0)
	}
}

func (a *agent) dispatch(req *request) {
	switch req.Op {
	case "ping":
		a.conn.reply(req.ID, a.info(), nil)
	case "claim":
		a.conn.reply(req.ID, nil, a.claim(req))
	case "exec":
		a.exec(req)
	case "spawn":
		a.spawn(req)
	case "kill":
		a.kill(req.Target)
		a.conn.reply(req.ID, nil, nil)
	case "read", "write", "remove", "list", "stat", "tar_in", "tar_out":
		if a.user.switching && !a.user.fsuid {
			a.relayFileOp(req)
		} else {
			a.fileOp(req)
		}
	default:
		a.conn.reply(req.ID, nil, refuse("bad_request", "unknown op %q", req.Op))
	}
}

type info struct {
	Version string            `json:"version"`
	Claimed bool              `json:"claimed"`
	Labels  map[string]string `json:"labels,omitempty"`
	Uid     int               `json:"uid"`
}

func (a *agent) info() info {
	a.mu.Lock()
	defer a.mu.Unlock()
	return info{Version: version, Claimed: a.labels != nil, Labels: a.labels, Uid: os.Geteuid()}
}

// claim hands a (possibly pre-started) sandbox to its run: its environment and its owner's labels. Once only.
func (a *agent) claim(req *request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.labels != nil {
		return refuse("bad_request", "this sandbox is already claimed")
	}
	a.env = req.Env
	a.labels = req.Labels
	if a.labels == nil {
		a.labels = map[string]string{}
	}
	close(a.claimed)
	return nil
}

// commandEnv is what a command sees: the agent's environment without its own identity, then the sandbox's, then
// the call's, then the marker that lets the agent find the command's processes.
func (a *agent) commandEnv(extra map[string]string, marker string) []string {
	// No bytecode caches: a same-size edit in the same second would otherwise run the stale .pyc (overridable).
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "KEEL_") {
			env[k] = v
		}
	}
	env["HOME"], env["USER"], env["LOGNAME"] = a.home, "keel", "keel"
	delete(env, "PWD")
	a.mu.Lock()
	for k, v := range a.env {
		env[k] = v
	}
	a.mu.Unlock()
	for k, v := range extra {
		env[k] = v
	}
	env["KEEL_EXEC_ID"] = marker
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// identity is whom commands and file operations run as. When the agent runs as root it switches to uid/gid
// (commands through credentials, file operations through the thread's fsuid); otherwise it is that user already.
type identity struct {
	uid, gid  int
	switching bool
	// fsuid: the kernel honours a thread's fsuid (gVisor does not); without it file operations run in a child
	// process that is the sandbox user (relay.go).
	fsuid bool
}

func newIdentity(uid, gid int) (identity, error) {
	if os.Geteuid() != 0 || uid == 0 {
		return identity{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	// Root's supplementary groups must not leak into file-permission checks made on the user's behalf.
	if err := syscall.Setgroups([]int{}); err != nil {
		return identity{}, fmt.Errorf("setgroups: %w (the agent needs CAP_SETGID)", err)
	}
	return identity{uid: uid, gid: gid, switching: true, fsuid: probeFS(uid, gid)}, nil
}

func (id identity) credential() *syscall.Credential {
	if !id.switching {
		return nil
	}
	return &syscall.Credential{Uid: uint32(id.uid), Gid: uint32(id.gid), Groups: []uint32{}}
}

// rlimitNproc is RLIMIT_NPROC on Linux (the syscall package does not name it).
const rlimitNproc = 6
