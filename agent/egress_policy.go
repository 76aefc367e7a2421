package main

// The egress allowlist of a networked sandbox, enforced by its egress proxy (egress.go): which host names it may
// reach, and which addresses are never reachable whatever a name resolves to (link-local cloud metadata, the
// worker's host, loopback and private networks). Names are resolved here, in the proxy, never in the sandbox.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// egressPolicy is what one proxy enforces.
type egressPolicy struct {
	allow []string // exact names, "*.example.com" (subdomains only), or "*" (any name)
	// deny: the host's own addresses (given by the worker), refused like loopback.
	deny map[netip.Addr]bool
	// testHosts: a documented test hook. These names resolve to the given address, and that address may be
	// loopback, private or one of the host's (never link-local/metadata), so tests can use local servers.
	testHosts map[string]netip.Addr
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
}

func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// never: link-local (cloud metadata 169.254.169.254 included), "this network", Alibaba's and AWS's IPv6 metadata.
var never = prefixes("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "100.100.100.200/32", "fd00:ec2::/32", "224.0.0.0/4", "ff00::/8", "255.255.255.255/32")

// internal: loopback, private, carrier-grade NAT and unique-local ranges.
var internal = prefixes("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "::/128")

// special: IPv6 forms that carry an IPv4 address a gateway may translate into any internal or metadata address
// (NAT64, 6to4 and its relay, Teredo, IPv4-compatible), deprecated site-local, and IPv4 blocks no public host uses
// (IETF protocol assignments, benchmarking, reserved). Refused whatever a name resolves to, test hook included.
var special = prefixes("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "fec0::/10",
	"192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15", "240.0.0.0/4")

func inAny(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostProblem says why a name may not be reached, or "" when it is on the allowlist.
func (p *egressPolicy) hostProblem(host string) string {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return fmt.Sprintf("%s is a raw IP address; only host names on the allowlist are reachable", host)
	}
	for _, pattern := range p.allow {
		pat := strings.ToLower(pattern)
		if pat == "*" || pat == host || (strings.HasPrefix(pat, "*.") && strings.HasSuffix(host, pat[1:]) && len(host) > len(pat)-1) {
			return ""
		}
	}
	return fmt.Sprintf("%s is not in the allowlist (%s)", host, strings.Join(p.allow, ", "))
}

// addressProblem says why an address a name resolved to may not be reached, or "".
func (p *egressPolicy) addressProblem(a netip.Addr, testHook bool) string {
	a = a.Unmap()
	if inAny(never, a) {
		return fmt.Sprintf("%s, a link-local or metadata address, never reachable from a sandbox", a)
	}
	if !testHook && (inAny(internal, a) || p.deny[a]) {
		return fmt.Sprintf("%s, a loopback or private address or one of the host's, not reachable from a sandbox", a)
	}
	if inAny(special, a) {
		return fmt.Sprintf("%s, a special-purpose address (NAT64, 6to4, Teredo, IPv4-compatible, site-local or reserved), never reachable from a sandbox", a)
	}
	return ""
}

// target checks a host name and resolves it: the one address to dial, or why not.
func (p *egressPolicy) target(ctx context.Context, rawHost string) (netip.Addr, string) {
	host := strings.TrimSuffix(strings.ToLower(rawHost), ".")
	if why := p.hostProblem(host); why != "" {
		return netip.Addr{}, why
	}
	addrs, testHook := []netip.Addr{}, false
	if a, ok := p.testHosts[host]; ok {
		addrs, testHook = []netip.Addr{a}, true
	} else {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		found, err := p.lookup(ctx, host)
		if err != nil || len(found) == 0 {
			return netip.Addr{}, fmt.Sprintf("%s does not resolve", host)
		}
		addrs = found
	}
	// Every address must pass: a name with one public and one internal address is refused, not half-allowed.
	for _, a := range addrs {
		if why := p.addressProblem(a, testHook); why != "" {
			return netip.Addr{}, fmt.Sprintf("%s resolves to %s", host, why)
		}
	}
	return addrs[0].Unmap(), ""
}

func systemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
