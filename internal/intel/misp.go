package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The shapes of MISP's JSON that vigil reads: an event file of a feed
// (`{"Event": {…}}`), and restSearch's attributes.
type (
	mispEventFile struct {
		Event *mispEvent `json:"Event"`
	}
	mispEvent struct {
		UUID      string          `json:"uuid"`
		Info      string          `json:"info"`
		Tag       []mispTag       `json:"Tag"`
		Attribute []mispAttribute `json:"Attribute"`
		Object    []mispObject    `json:"Object"`
		Galaxy    []mispGalaxy    `json:"Galaxy"`
	}
	mispObject struct {
		Attribute []mispAttribute `json:"Attribute"`
	}
	mispAttribute struct {
		UUID      string       `json:"uuid"`
		Type      string       `json:"type"`
		Category  string       `json:"category"`
		Value     string       `json:"value"`
		ToIDs     flexBool     `json:"to_ids"`
		Deleted   flexBool     `json:"deleted"`
		Timestamp flexInt      `json:"timestamp"`
		Tag       []mispTag    `json:"Tag"`
		Galaxy    []mispGalaxy `json:"Galaxy"`
		Event     *mispEvent   `json:"Event"` // restSearch's includeEventUuid
	}
	mispTag struct {
		Name string `json:"name"`
	}
	mispGalaxy struct {
		Type    string        `json:"type"`
		Cluster []mispCluster `json:"GalaxyCluster"`
	}
	mispCluster struct {
		Value   string `json:"value"`
		TagName string `json:"tag_name"`
		Meta    struct {
			ExternalID []string `json:"external_id"`
		} `json:"meta"`
	}
)

// flexBool is MISP's boolean: true, 1, "1", "true" (and their opposites).
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	switch strings.Trim(string(raw), `"`) {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("%s is not a boolean", raw)
	}
	return nil
}

// flexInt is MISP's number, often a string: 1700000000, "1700000000".
type flexInt int64

func (n *flexInt) UnmarshalJSON(raw []byte) error {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer", raw)
	}
	*n = flexInt(v)
	return nil
}

// techniqueRE finds MITRE ATT&CK technique ids.
var techniqueRE = regexp.MustCompile(`\bT[0-9]{4}(?:\.[0-9]{3})?\b`)

// techniques takes the ATT&CK ids from MITRE galaxy tags
// (`misp-galaxy:mitre-attack-pattern="Unix Shell - T1059.004"`) and
// galaxy clusters.
func techniques(tags []string, galaxies ...[]mispGalaxy) []string {
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, "misp-galaxy:mitre-") {
			out = append(out, techniqueRE.FindAllString(t, -1)...)
		}
	}
	for _, gs := range galaxies {
		for _, g := range gs {
			if !strings.HasPrefix(g.Type, "mitre-") {
				continue
			}
			for _, c := range g.Cluster {
				out = append(out, techniqueRE.FindAllString(c.TagName+" "+c.Value, -1)...)
				for _, id := range c.Meta.ExternalID {
					out = append(out, techniqueRE.FindAllString(id, -1)...)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func tagNames(tags []mispTag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t.Name != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

// eventContext is what an event's attributes share.
type eventContext struct {
	source, uuid, info string
	tags               []string
	galaxy             []mispGalaxy
	techs              []string // of tags and galaxy, shared by the attributes without their own
	techsDone          bool
}

// eventTechniques is the event's techniques, found once.
func (ev *eventContext) eventTechniques() []string {
	if !ev.techsDone {
		ev.techs, ev.techsDone = techniques(ev.tags, ev.galaxy), true
	}
	return ev.techs
}

// addAttribute adds what one attribute names: only to_ids and not
// deleted ones act.
func (p *parsed) addAttribute(ev *eventContext, a *mispAttribute) error {
	if a.Deleted {
		p.skip("deleted")
		return nil
	}
	if !a.ToIDs {
		p.skip("not_to_ids")
		return nil
	}
	vs, err := fromAttribute(a.Type, a.Value)
	if errors.Is(err, errSkip) {
		p.skip("type")
		return nil
	}
	if err != nil {
		return fmt.Errorf("attribute %s: %w", a.UUID, err)
	}
	tags, techs := ev.tags, ev.eventTechniques()
	if len(a.Tag) > 0 || len(a.Galaxy) > 0 {
		tags = append(slices.Clip(tags), tagNames(a.Tag)...)
		techs = techniques(tags, ev.galaxy, a.Galaxy)
	}
	prov := &Provenance{Source: ev.source, EventUUID: ev.uuid, EventInfo: ev.info,
		AttributeUUID: a.UUID, AttributeType: a.Type, Value: a.Value, Tags: tags,
		Techniques: techs}
	for _, v := range vs {
		p.add(v, prov)
	}
	return nil
}

// parseMISPEvent reads one event file of a MISP feed (`{"Event": {…}}`):
// its attributes and its objects' attributes. An error names the event
// (file) and the JSON offset or attribute at fault.
func parseMISPEvent(raw []byte, source, file string) (parsed, error) {
	var f mispEventFile
	dec := json.NewDecoder(bytes.NewReader(trimBOM(raw)))
	if err := dec.Decode(&f); err != nil {
		e := jsonError(raw, err).(*RefreshError)
		e.Where = file + " " + e.Where
		return parsed{}, e
	}
	if f.Event == nil {
		return parsed{}, &RefreshError{Reason: ReasonMalformed, Where: file, Err: errors.New(`no "Event" object`)}
	}
	e := f.Event
	ev := &eventContext{source: source, uuid: e.UUID, info: e.Info, tags: tagNames(e.Tag), galaxy: e.Galaxy}
	var p parsed
	add := func(a *mispAttribute) error {
		if err := p.addAttribute(ev, a); err != nil {
			return &RefreshError{Reason: ReasonMalformed, Where: file + " event " + e.UUID, Err: err}
		}
		return nil
	}
	for i := range e.Attribute {
		if err := add(&e.Attribute[i]); err != nil {
			return parsed{}, err
		}
	}
	for _, o := range e.Object {
		for i := range o.Attribute {
			if err := add(&o.Attribute[i]); err != nil {
				return parsed{}, err
			}
		}
	}
	return p, nil
}
