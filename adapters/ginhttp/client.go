package ginhttp

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address of the client that sent r: the peer, unless
// the peer is a trusted proxy; then the rightmost X-Forwarded-For hop that
// is not a trusted proxy. Each proxy appends the address it saw, so what
// lies left of that hop was written by the client and is never believed;
// X-Real-IP and Forwarded are ignored. A hop that is not an address ends
// the walk at the proxy that passed it on. IPv4-mapped IPv6 addresses are
// returned as IPv4, without a zone, so one address has one spelling. The
// zero Addr means the peer's address could not be read.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr, ok := parsePeer(r.RemoteAddr)
	if !ok || !isTrusted(addr, trusted) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		line := hops[i]
		for more := true; more; {
			var hop string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				hop, line = line[j+1:], line[:j]
			} else {
				hop, more = line, false
			}
			if strings.TrimSpace(hop) == "" {
				continue
			}
			next, ok := parseHop(hop)
			if !ok {
				return addr
			}
			addr = next
			if !isTrusted(addr, trusted) {
				return addr
			}
		}
	}
	return addr
}

// parsePeer reads the peer's address, which net/http gives with its port:
// tried first that way, so the usual case makes no error value.
func parsePeer(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return parseHop(s)
}

// parseHop reads an address, with or without a port.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
