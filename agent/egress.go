package main

// `keel-agent egress-proxy`: the only way out of a networked Docker sandbox. It runs in a sidecar container
// attached to the sandbox's own network (which has no route anywhere else) and to an outbound bridge, and
// forwards plain-HTTP requests and CONNECT tunnels (HTTPS) to allowlisted host names only, dialling the address
// it resolved and checked itself (egress_policy.go). A refusal is a 403 whose reason phrase, X-Keel-Egress header
// and body say `keel egress: <why>`, so curl, pip and git show why in the tool output.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

func init() { register("egress-proxy", egressMain) }

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func egressMain(args []string) int {
	fs := flag.NewFlagSet("egress-proxy", flag.ContinueOnError)
	listen := fs.String("listen", ":3128", "address to listen on")
	var allow, deny, testHosts listFlag
	fs.Var(&allow, "allow", "a host name the sandbox may reach: exact, *.domain (subdomains) or * (any); repeatable")
	fs.Var(&deny, "deny", "an address of the host, never reachable; repeatable")
	fs.Var(&testHosts, "test-host", "TEST HOOK name=address: the name resolves to address, which may be loopback/private")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy, err := newEgressPolicy(allow, deny, testHosts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keel-agent egress-proxy: %v\n", err)
		return 2
	}
	server := &http.Server{Addr: *listen, Handler: &egressProxy{policy: policy}, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(os.Stderr, "keel-agent egress-proxy: listening on %s\n", *listen)
	if err := server.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "keel-agent egress-proxy: %v\n", err)
		return 1
	}
	return 0
}

func newEgressPolicy(allow, deny, testHosts []string) (*egressPolicy, error) {
	p := &egressPolicy{allow: allow, deny: map[netip.Addr]bool{}, testHosts: map[string]netip.Addr{}, lookup: systemLookup}
	for _, d := range deny {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("--deny %q is not an address", d)
		}
		p.deny[a.Unmap()] = true
	}
	for _, t := range testHosts {
		name, addr, ok := strings.Cut(t, "=")
		a, err := netip.ParseAddr(addr)
		if !ok || err != nil {
			return nil, fmt.Errorf("--test-host %q must be name=address", t)
		}
		p.testHosts[strings.ToLower(name)] = a
	}
	return p, nil
}

type egressProxy struct{ policy *egressPolicy }

var dialer = net.Dialer{Timeout: 15 * time.Second}

func (e *egressProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		e.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		refuseEgress(w, "only absolute http:// URLs (or CONNECT for https) go through this proxy")
		return
	}
	addr, why := e.policy.target(r.Context(), r.URL.Hostname())
	if why != "" {
		refuseEgress(w, why)
		return
	}
	port := r.URL.Port()
	if port == "" {
		port = "80"
	}
	fixed := net.JoinHostPort(addr.String(), port)
	transport := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fixed) // the checked address, never a second lookup
		},
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	resp, err := transport.RoundTrip(out)
	if err != nil {
		refuseEgress(w, fmt.Sprintf("cannot reach %s: %v", r.URL.Host, err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (e *egressProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		refuseEgress(w, fmt.Sprintf("CONNECT needs host:port, got %q", r.Host))
		return
	}
	addr, why := e.policy.target(r.Context(), host)
	if why != "" {
		refuseEgress(w, why)
		return
	}
	upstream, err := dialer.DialContext(r.Context(), "tcp", net.JoinHostPort(addr.String(), port))
	if err != nil {
		refuseEgress(w, fmt.Sprintf("cannot reach %s: %v", r.Host, err))
		return
	}
	client, buffered, err := w.(http.Hijacker).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	go splice(upstream, buffered.Reader, client)
	splice(client, upstream, upstream)
}

// splice copies src to dst, then closes dst (and src's connection through closer) so the other side ends too.
func splice(dst net.Conn, src io.Reader, closer io.Closer) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	closer.Close()
}

// refuseEgress answers 403 with the reason in the status line (what CONNECT clients print), a header and the body.
func refuseEgress(w http.ResponseWriter, why string) {
	text := "keel egress: " + why
	phrase := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, text)
	if len(phrase) > 200 {
		phrase = phrase[:200]
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		http.Error(w, text, http.StatusForbidden)
		return
	}
	defer conn.Close()
	body := text + "\n"
	fmt.Fprintf(buf, "HTTP/1.1 403 %s\r\nContent-Type: text/plain\r\nX-Keel-Egress: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s",
		phrase, phrase, strconv.Itoa(len(body)), body)
	_ = buf.Flush()
}
