module keel.dev/agent

go 1.24
