#!/usr/bin/env bash
# Temporal's time-skipping test server (io.temporal.testserver.TestServer, from the Java SDK) for the timer-bound
# tests (approval timeouts, conversation idle timeouts). @temporalio/testing would download it from a host this
# machine cannot reach; the same server is published on Maven Central, so Maven fetches it with its dependencies into
# .keel/test-server/<version>/lib once (cached by version), next to a launcher `temporal-test-server` that
# `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } })` starts
# (the SDK passes `<port>`; the server starts with time skipping locked, and the test client unlocks it while it
# waits on a result). Installs Java and Maven (Debian packages) when missing and root. Prints the launcher's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${KEEL_TEST_SERVER_VERSION:-1.27.0}
dir="$PWD/.keel/test-server/$VERSION"
launcher="$dir/temporal-test-server"
log() { echo "ensure-test-server: $*" >&2; }
if [ -x "$launcher" ] && command -v java >/dev/null 2>&1; then echo "$launcher"; exit 0; fi

if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "java and mvn are needed for the time-skipping tests: install a JRE (17+) and Maven"
    exit 1
  fi
  log "installing a Java runtime and Maven (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless maven >/dev/null
fi

if [ ! -x "$launcher" ]; then
  log "fetching io.temporal:temporal-test-server:$VERSION and its dependencies (Maven Central)"
  mkdir -p "$(dirname "$dir")"
  work="$(mktemp -d "$(dirname "$dir")/.fetch-XXXXXX")" # beside its place, so the final mv is a rename
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>keel</groupId><artifactId>test-server-fetch</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>$VERSION</version>
    </dependency>
    <!-- a logging binding that logs nothing: without one, SLF4J says so on stderr at every start -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  # Maven's output only when it fails (even -q prints colour codes).
  if ! (cd "$work" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/lib") \
    >"$work/mvn.log" 2>&1; then
    cat "$work/mvn.log" >&2
    log "Maven could not fetch io.temporal:temporal-test-server:$VERSION"
    exit 1
  fi
  # The JVM flags favour start-up time (the SDK gives the server 5 s to listen) over peak speed.
  cat >"$work/temporal-test-server" <<'EOF'
#!/bin/sh
# Started by @temporalio/testing as `temporal-test-server <port> [--enable-time-skipping]`.
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp "$(dirname "$0")/lib/*" \
  io.temporal.testserver.TestServer "$@"
EOF
  chmod +x "$work/temporal-test-server"
  rm -rf "$dir"
  mv "$work" "$dir" # the launcher appears only with its complete lib/
  trap - EXIT
fi
echo "$launcher"
