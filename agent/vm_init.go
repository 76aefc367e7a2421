package main

// vm-init: the agent as PID 1 of a Keel microVM (docs/microvm.md). The initramfs has mounted the root disk and
// left the host's per-VM config at /run/keel/vm.json; this mounts the kernel filesystems and size-capped tmpfs
// for /tmp, /workspace and the home, brings up lo (the only interface: the VM has no network device), then runs
// `keel-agent serve` as a child with the virtio-serial port as its stdout and a pipe fed from the port as its
// stdin. PID 1 stays a reaper (orphaned processes land on it) and keeps the agent's stdin open across host
// disconnects, so a worker restart reconnects to the same agent, journal and running commands.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func init() { register("vm-init", vmInit) }

const (
	vmConfigPath = "/run/keel/vm.json"
	vmAgentPort  = "keel.agent"
	vmUID        = 1000
)

// vmConfig is what the host appends to the initramfs (src/sandbox/microvm-image.ts VMConfig).
type vmConfig struct {
	Env            map[string]string `json:"env"`
	TmpBytes       int64             `json:"tmpBytes"`
	WorkspaceBytes int64             `json:"workspaceBytes"`
	PidsLimit      uint64            `json:"pidsLimit"`
	Probe          bool              `json:"probe"`
}

func vmInit(args []string) int {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "keel-agent vm-init: only runs as PID 1 of a Keel microVM")
		return 2
	}
	cfg, err := readVMConfig()
	if err == nil {
		err = vmMounts(cfg)
	}
	if err == nil {
		err = consoleStdio()
	}
	if err == nil {
		err = loopbackUp()
	}
	if err != nil {
		vmFatal(err)
	}
	_ = syscall.Sethostname([]byte("keel-sandbox"))
	vmLog("guest set up")
	if cfg.Probe {
		fmt.Println("keel-vm-probe-ok")
		vmPowerOff()
	}
	// A fork bomb of the sandbox user stops at pidsLimit processes; root (the agent) is exempt.
	if cfg.PidsLimit > 0 {
		_ = syscall.Setrlimit(6 /* RLIMIT_NPROC */, &syscall.Rlimit{Cur: cfg.PidsLimit, Max: cfg.PidsLimit})
	}
	port, err := openAgentPort()
	if err != nil {
		vmFatal(err)
	}
	superviseAgent(port, cfg)
	return 0
}

// vmLog writes one line with the guest's uptime to the console (console.log in the VM's directory on the host).
func vmLog(what string) {
	up, _ := os.ReadFile("/proc/uptime")
	fmt.Fprintf(os.Stderr, "keel-agent vm-init: %s at %s s\n", what, strings.Fields(string(up) + " ?")[0])
}

func readVMConfig() (vmConfig, error) {
	cfg := vmConfig{TmpBytes: 64 << 20, WorkspaceBytes: 512 << 20, PidsLimit: 256}
	data, err := os.ReadFile(vmConfigPath)
	if err != nil {
		return cfg, fmt.Errorf("no VM config: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("bad VM config: %w", err)
	}
	return cfg, nil
}

type vmMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	mode                   os.FileMode
}

func vmMounts(cfg vmConfig) error {
	const nosuid, nodev, noexec = syscall.MS_NOSUID, syscall.MS_NODEV, syscall.MS_NOEXEC
	uid := fmt.Sprintf("uid=%d,gid=%d", vmUID, vmUID)
	mounts := []vmMount{
		{"proc", "/proc", "proc", nosuid | nodev | noexec, "", 0o555},
		{"sysfs", "/sys", "sysfs", nosuid | nodev | noexec, "", 0o555},
		{"devtmpfs", "/dev", "devtmpfs", nosuid | noexec, "mode=0755", 0o755},
		{"devpts", "/dev/pts", "devpts", nosuid | noexec, "mode=0620,ptmxmode=0666", 0o755},
		{"shm", "/dev/shm", "tmpfs", nosuid | nodev, fmt.Sprintf("mode=1777,size=%d", cfg.TmpBytes), 0o1777},
		{"tmpfs", "/tmp", "tmpfs", nosuid | nodev, fmt.Sprintf("mode=1777,size=%d", cfg.TmpBytes), 0o1777},
		{"tmpfs", "/workspace", "tmpfs", nosuid | nodev, fmt.Sprintf("mode=0755,%s,size=%d", uid, cfg.WorkspaceBytes), 0o755},
		{"tmpfs", "/home/keel", "tmpfs", nosuid | nodev, fmt.Sprintf("mode=0700,%s,size=%d", uid, cfg.TmpBytes), 0o700},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, m.mode); err != nil {
			return err
		}
		if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
	}
	return nil
}

// consoleStdio points fds 0-2 at /dev/null and the console (the kernel may have found no console to give init).
func consoleStdio() error {
	null, err := syscall.Open("/dev/null", syscall.O_RDWR, 0)
	if err != nil {
		return err
	}
	console, err := syscall.Open("/dev/console", syscall.O_WRONLY, 0)
	if err != nil {
		console = null
	}
	for fd, from := range []int{null, console, console} {
		if from != fd {
			if err := syscall.Dup3(from, fd, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo through SIOCSIFFLAGS (there is no `ip` to run in an arbitrary image).
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", e)
	}
	ifr.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", e)
	}
	return nil
}

// openAgentPort finds the virtio-serial port named keel.agent (its /dev node is vportNpM; there is no udev).
func openAgentPort() (*os.File, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _ := filepath.Glob("/sys/class/virtio-ports/vport*/name")
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil && strings.TrimSpace(string(b)) == vmAgentPort {
				return os.OpenFile("/dev/"+filepath.Base(filepath.Dir(n)), os.O_RDWR, 0)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no virtio-serial port named %s", vmAgentPort)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// superviseAgent runs `keel-agent serve` on the port and reaps every process that ends up as PID 1's child. The
// agent is restarted if it ever exits (its journal on /run/keel survives, so replays stay exactly-once).
func superviseAgent(port *os.File, cfg vmConfig) {
	pr, pw, err := os.Pipe()
	if err != nil {
		vmFatal(err)
	}
	go pumpPort(port, pw)
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	for k, v := range cfg.Env {
		env = append(env, k+"="+v)
	}
	argv := []string{"keel-agent", "serve", "--workspace", "/workspace", "--state", "/run/keel/agent",
		"--home", "/home/keel", "--uid", fmt.Sprint(vmUID), "--gid", fmt.Sprint(vmUID)}
	start := func() int {
		p, err := os.StartProcess("/proc/self/exe", argv, &os.ProcAttr{Dir: "/", Env: env, Files: []*os.File{pr, port, os.Stderr}})
		if err != nil {
			vmFatal(err)
		}
		return p.Pid
	}
	agentPid := start()
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if pid == agentPid {
			fmt.Fprintf(os.Stderr, "keel-agent vm-init: agent exited (%v); restarting\n", status)
			time.Sleep(100 * time.Millisecond)
			agentPid = start()
		}
	}
}

// pumpPort copies host frames from the port to the agent's stdin. A port read returns 0 while no host is
// connected; then a newline ends any frame the old host left half-sent, and the loop waits for the next host.
func pumpPort(port *os.File, agentIn *os.File) {
	buf := make([]byte, 256<<10)
	connected := false
	for {
		n, err := port.Read(buf)
		if n > 0 {
			connected = true
			if _, werr := agentIn.Write(buf[:n]); werr != nil {
				vmFatal(werr)
			}
			continue
		}
		if connected {
			connected = false
			_, _ = agentIn.Write([]byte("\n"))
		}
		if err != nil || n == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func vmFatal(err error) {
	fmt.Fprintf(os.Stderr, "keel-agent vm-init: %v; powering off\n", err)
	vmPowerOff()
}

// vmPowerOff resets the VM; QEMU runs with -no-reboot, so the reset ends it.
func vmPowerOff() {
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	os.Exit(1)
}
