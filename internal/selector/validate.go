package selector

import (
	"fmt"
	"strings"
)

// The syntax below is Kubernetes's (apimachinery's validation): a name
// that Kubernetes would refuse can never match, so it is a mistake worth
// reporting rather than a scope that is silently empty.

// checkDNSLabel reports why s is not an RFC 1123 label (namespace and
// container names): at most 63 characters, lower-case letters, digits and
// '-', starting and ending with a letter or digit.
func checkDNSLabel(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	if len(s) > 63 {
		return fmt.Errorf("%q is longer than 63 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < len(s)-1)
		if !ok {
			return fmt.Errorf("%q is not a valid name: lower-case letters, digits and '-', starting and ending with a letter or digit", s)
		}
	}
	return nil
}

// checkLabelKey reports why s is not a label key: an optional DNS
// subdomain prefix and '/', then a name of at most 63 characters.
func checkLabelKey(s string) error {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		prefix, name = "", s
	}
	if hasPrefix {
		if err := checkDNSSubdomain(prefix); err != nil {
			return fmt.Errorf("label key %q: prefix: %w", s, err)
		}
	}
	if name == "" {
		return fmt.Errorf("label key %q has no name", s)
	}
	if err := checkLabelChars(name, "label key"); err != nil {
		return err
	}
	return nil
}

// checkLabelValue reports why s is not a label value: empty, or at most
// 63 letters, digits, '-', '_' and '.', starting and ending with a letter
// or digit.
func checkLabelValue(s string) error { return checkLabelChars(s, "label value") }

// checkLabelChars is checkLabelValue for what (a value, or a key's name).
func checkLabelChars(s, what string) error {
	if len(s) > 63 {
		return fmt.Errorf("%q is longer than 63 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		inner := c == '-' || c == '_' || c == '.'
		if !alnum && !(inner && i > 0 && i < len(s)-1) {
			return fmt.Errorf("%q is not a valid %s: letters, digits, '-', '_' and '.', starting and ending with a letter or digit", s, what)
		}
	}
	return nil
}

// checkDNSSubdomain reports why s is not an RFC 1123 subdomain: dot
// separated labels, at most 253 characters.
func checkDNSSubdomain(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", s)
	}
	for _, part := range strings.Split(s, ".") {
		if err := checkDNSLabel(part); err != nil {
			return fmt.Errorf("%q is not a DNS subdomain: %w", s, err)
		}
	}
	return nil
}
