package intel

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseList reads a plain list: one IOC a line (column < 0) or the
// column-th field of CSV records. '#' starts a comment; blank lines and
// empty fields are skipped; a CSV's first record is a header when its
// field is no IOC. Every indicator shares one provenance (the source's
// name). A line that is no IOC refuses the list, naming name:line.
func parseList(data []byte, column int, source, name string) (parsed, error) {
	data = trimBOM(data)
	prov := &Provenance{Source: source, AttributeType: "list"}
	if column >= 0 {
		return parseCSV(data, column, name, prov)
	}
	var p parsed
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		value := fields[0]
		// a hosts file's "0.0.0.0 evil.example": the name is the IOC
		if len(fields) >= 2 && (value == "0.0.0.0" || value == "127.0.0.1" || value == "::") {
			value = fields[1]
		}
		v, err := detect(value)
		if err != nil {
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("%s:%d", name, n), Err: err}
		}
		p.add(v, prov)
	}
	if err := sc.Err(); err != nil {
		return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: name, Err: err}
	}
	return p, nil
}

func parseCSV(data []byte, column int, name string, prov *Provenance) (parsed, error) {
	var p parsed
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("%s:%d", name, line), Err: err}
		}
		if column >= len(rec) {
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("%s:%d", name, line),
				Err: fmt.Errorf("record has %d fields, no column %d", len(rec), column)}
		}
		field := strings.TrimSpace(rec[column])
		if field == "" {
			continue
		}
		v, err := detect(field)
		if err != nil {
			if first {
				continue // a header
			}
			return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: fmt.Sprintf("%s:%d column %d", name, line, column), Err: err}
		}
		p.add(v, prov)
	}
	return p, nil
}
