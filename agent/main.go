// keel-agent: the process Keel runs inside every sandbox. It speaks newline-delimited JSON frames on stdin and
// stdout (see docs/sandbox-agent.md) and runs the sandbox user's commands and file operations on Keel's behalf.
// Static, stdlib only, no interpreter: it works in any image and nothing in /workspace or $HOME can influence it.
//
// Subcommands register themselves in `commands` from their own files (serve.go; a microVM init can add
// vm_init.go), so a new mode never touches this file.
package main

import (
	"fmt"
	"os"
	"sort"
)

// version is the protocol version the agent speaks; the host checks it on ping.
const version = "1"

// commands maps a subcommand name to its entry point, which returns the process exit code.
var commands = map[string]func(args []string) int{}

func register(name string, run func(args []string) int) {
	commands[name] = run
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: keel-agent <%s> [flags]\n", joinNames(names))
		os.Exit(2)
	}
	os.Exit(commands[os.Args[1]](os.Args[2:]))
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += "|"
		}
		out += n
	}
	return out
}
