package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// asUser runs fn with the sandbox user's file-system identity: on a locked OS thread whose fsuid/fsgid are the
// user's, so every path fn touches is checked (and every file it creates is owned) as that user's, symlinks
// planted by the user included. A root agent that skipped this would be a confused deputy.
func (a *agent) asUser(fn func() error) error {
	if !a.user.switching {
		return fn()
	}
	runtime.LockOSThread()
	if err := setFS(a.user.uid, a.user.gid); err != nil {
		// The thread's identity is unknown: let it die with this goroutine instead of reusing it.
		return refuse("exec_failed", "cannot switch to the sandbox user: %v", err)
	}
	err := fn()
	if setFS(0, 0) == nil {
		runtime.UnlockOSThread()
	}
	return err
}

// setFS sets this thread's fsuid and fsgid and checks they took (the syscalls report the previous value only).
func setFS(uid, gid int) error {
	syscall.Syscall(syscall.SYS_SETFSGID, uintptr(gid), 0, 0)
	syscall.Syscall(syscall.SYS_SETFSUID, uintptr(uid), 0, 0)
	nowGid, _, _ := syscall.Syscall(syscall.SYS_SETFSGID, uintptr(gid), 0, 0)
	nowUid, _, _ := syscall.Syscall(syscall.SYS_SETFSUID, uintptr(uid), 0, 0)
	if int(nowUid) != uid || int(nowGid) != gid {
		return syscall.EPERM
	}
	return nil
}

// killMarked SIGKILLs every process whose environment carries this command's marker, and the groups they lead:
// that catches children that left the command's process group with setsid. Environments are read as the
// sandbox user (another user's /proc/<pid>/environ is closed to us without CAP_SYS_PTRACE, by design).
func (a *agent) killMarked(marker string) {
	for round := 0; round < 3; round++ {
		pids := a.markedPidsAsUser(marker)
		for _, pid := range pids {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) == 0 {
			return
		}
	}
}

func markedPids(tag []byte, self int) []int {
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range dir {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, tag) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
