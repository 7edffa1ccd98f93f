// Package falcoimport translates Falco rules files (rules, macros and
// lists in Falco's condition language) into vigil rule files (YAML with
// CEL conditions): it parses Falco's filter syntax, applies Falco's
// append and override, maps Falco's fields and evt.type values to vigil's
// fields and event kinds (fieldTable, kindSyscalls) and validates what it
// writes with the rule compiler. Entries it cannot translate are left out
// and reported with every reason; none is dropped silently. docs/falco.md
// describes the mapping.
package falcoimport
