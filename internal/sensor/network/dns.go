package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotQuery marks a DNS message that is not a well-formed query.
var ErrNotQuery = errors.New("not a DNS query")

// Question is the first question of a DNS query.
type Question struct {
	ID   uint16
	Name string // presentation form without the final dot: "example.com"; the root is "."
	Type string // "A", "AAAA", …; "TYPE<n>" for types without a name (RFC 3597)
}

const (
	dnsHeaderLen = 12
	dnsMaxName   = 255 // bytes of a name on the wire, length octets included
	dnsMaxLabel  = 63
)

// ParseQuery reads the id and first question of a DNS query message. It
// reads nothing outside msg and rejects what a resolver would not send:
// responses, no question, compression pointers in the question, labels or
// names over their limits, a missing type or class.
func ParseQuery(msg []byte) (Question, error) {
	if len(msg) < dnsHeaderLen {
		return Question{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrNotQuery, len(msg))
	}
	q := Question{ID: binary.BigEndian.Uint16(msg)}
	if msg[2]&0x80 != 0 {
		return q, fmt.Errorf("%w: the QR bit says response", ErrNotQuery)
	}
	if binary.BigEndian.Uint16(msg[4:]) == 0 {
		return q, fmt.Errorf("%w: no question", ErrNotQuery)
	}
	name, end, err := readName(msg, dnsHeaderLen)
	if err != nil {
		return q, err
	}
	if len(msg) < end+4 {
		return q, fmt.Errorf("%w: the question ends before its type and class", ErrNotQuery)
	}
	q.Name = name
	q.Type = TypeName(binary.BigEndian.Uint16(msg[end:]))
	return q, nil
}

// readName reads an uncompressed name at off; end is the offset after it.
func readName(msg []byte, off int) (name string, end int, err error) {
	var b strings.Builder
	wire := 0
	for {
		if off >= len(msg) {
			return "", 0, fmt.Errorf("%w: the name runs past the message", ErrNotQuery)
		}
		n := int(msg[off])
		off++
		wire += n + 1
		if wire > dnsMaxName {
			return "", 0, fmt.Errorf("%w: the name is longer than %d bytes", ErrNotQuery, dnsMaxName)
		}
		if n == 0 {
			break
		}
		if n > dnsMaxLabel {
			// 0xc0 is a compression pointer, 0x40 and 0x80 are
			// reserved: none belongs in a query's first question
			return "", 0, fmt.Errorf("%w: label length byte %#x", ErrNotQuery, n)
		}
		if off+n > len(msg) {
			return "", 0, fmt.Errorf("%w: a label runs past the message", ErrNotQuery)
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		writeLabel(&b, msg[off:off+n])
		off += n
	}
	if b.Len() == 0 {
		return ".", off, nil
	}
	return b.String(), off, nil
}

// writeLabel writes a label in presentation form: dots, backslashes and
// bytes that are not printable ASCII are escaped (\. \\ \DDD), so that a
// name can never be mistaken for another.
func writeLabel(b *strings.Builder, label []byte) {
	for _, c := range label {
		switch {
		case c == '.' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x21 || c > 0x7e:
			fmt.Fprintf(b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
}

// TypeName names a DNS query type as zone files do.
func TypeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 10:
		return "NULL"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 17:
		return "RP"
	case 18:
		return "AFSDB"
	case 24:
		return "SIG"
	case 25:
		return "KEY"
	case 28:
		return "AAAA"
	case 29:
		return "LOC"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	case 36:
		return "KX"
	case 37:
		return "CERT"
	case 39:
		return "DNAME"
	case 41:
		return "OPT"
	case 42:
		return "APL"
	case 43:
		return "DS"
	case 44:
		return "SSHFP"
	case 45:
		return "IPSECKEY"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 49:
		return "DHCID"
	case 50:
		return "NSEC3"
	case 51:
		return "NSEC3PARAM"
	case 52:
		return "TLSA"
	case 53:
		return "SMIMEA"
	case 55:
		return "HIP"
	case 59:
		return "CDS"
	case 60:
		return "CDNSKEY"
	case 61:
		return "OPENPGPKEY"
	case 62:
		return "CSYNC"
	case 63:
		return "ZONEMD"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 99:
		return "SPF"
	case 108:
		return "EUI48"
	case 109:
		return "EUI64"
	case 249:
		return "TKEY"
	case 250:
		return "TSIG"
	case 251:
		return "IXFR"
	case 252:
		return "AXFR"
	case 255:
		return "ANY"
	case 256:
		return "URI"
	case 257:
		return "CAA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}
