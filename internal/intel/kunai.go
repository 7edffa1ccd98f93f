package intel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// kunaiIoC is one line of Kunai's IoC file, as kunai-tools' misp-to-kunai
// writes it: {"type", "uuid", "source", "value", "event_uuid",
// "severity"}; only value is required (Kunai's own minimal form is
// {"uuid", "source", "value"}).
type kunaiIoC struct {
	Type      string          `json:"type"`
	UUID      string          `json:"uuid"`
	Source    string          `json:"source"`
	Value     *string         `json:"value"`
	EventUUID string          `json:"event_uuid"`
	Severity  json.RawMessage `json:"severity"`
}

// parseKunai reads Kunai's IoC file: one JSON object a line. A known
// MISP type reads as that attribute type; a missing one is guessed as a
// plain list's line is; a type vigil does not act on ("path") is
// skipped. The line's "source" becomes the provenance's event info.
func parseKunai(data []byte, source, name string) (parsed, error) {
	var p parsed
	sc := bufio.NewScanner(bytes.NewReader(trimBOM(data)))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, n)
		var k kunaiIoC
		if err := json.Unmarshal(line, &k); err != nil {
			e := jsonError(line, err).(*RefreshError)
			e.Where = where + " " + e.Where
			return parsed{}, e
		}
		if k.Value == nil {
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: where, Err: errors.New(`no "value"`)}
		}
		prov := &Provenance{Source: source, EventUUID: k.EventUUID, EventInfo: k.Source,
			AttributeUUID: k.UUID, AttributeType: k.Type, Value: *k.Value}
		if k.Type == "" {
			v, err := detect(*k.Value)
			if err != nil {
				return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: where, Err: err}
			}
			p.add(v, prov)
			continue
		}
		vs, err := fromAttribute(strings.ToLower(k.Type), *k.Value)
		if errors.Is(err, errSkip) {
			p.skip("type")
			continue
		}
		if err != nil {
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: where, Err: err}
		}
		for _, v := range vs {
			p.add(v, prov)
		}
	}
	if err := sc.Err(); err != nil {
		return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: name, Err: err}
	}
	return p, nil
}
