package syslog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// ParseFacility turns a facility name (RFC 5424 section 6.2.1) into its
// number.
func ParseFacility(name string) (int, error) {
	names := []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp"}
	name = strings.ToLower(name)
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "local"); ok && len(rest) == 1 && rest[0] >= '0' && rest[0] <= '7' {
		return 16 + int(rest[0]-'0'), nil
	}
	return 0, fmt.Errorf("facility %q: want kern, user, daemon, auth, authpriv, syslog or local0…local7", name)
}

// Syslog severities (RFC 5424 section 6.2.1).
const (
	sevCritical      = 2
	sevError         = 3
	sevWarning       = 4
	sevNotice        = 5
	sevInformational = 6
)

// severity maps an alert's severity; events are informational.
func severity(s event.Severity) int {
	switch s {
	case event.SeverityCritical:
		return sevCritical
	case event.SeverityHigh:
		return sevError
	case event.SeverityMedium:
		return sevWarning
	case event.SeverityLow:
		return sevNotice
	}
	return sevInformational
}

// header appends an RFC 5424 header and an empty structured-data element:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID -
//
// followed by a space; the message follows.
func header(b []byte, facility, sev int, t time.Time, host, app string, pid int, msgID string) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facility*8+sev), 10)
	b = append(b, ">1 "...)
	// RFC 5424 allows at most six fractional digits
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, ' ')
	b = appendField(b, host, 255)
	b = append(b, ' ')
	b = appendField(b, app, 48)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, ' ')
	b = appendField(b, msgID, 32)
	return append(b, " - "...)
}

// appendField writes a header field: printable US-ASCII without spaces,
// cut to max, "-" (NILVALUE) when empty.
func appendField(b []byte, s string, max int) []byte {
	start := len(b)
	for i := 0; i < len(s) && len(b)-start < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	if len(b) == start {
		b = append(b, '-')
	}
	return b
}
