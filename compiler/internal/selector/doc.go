// Package selector compiles and evaluates Kubernetes-style store selectors.
//
// A selector is a list of terms; a store matches when any term matches, and
// a term matches when every one of its requirements does. A nil
// *model.Selector matches every store. Requirements test one key of a store
// with an operator:
//
//	In            the key has a value in the list
//	NotIn         the key has no value in the list (also true when absent)
//	Exists        the key has at least one value
//	DoesNotExist  the key has no value
//	Gt, Lt        the key has exactly one value, an integer, greater/less
//	              than the single integer operand
//
// Keys (see docs/selectors.md): id, name, geo (every prefix of the store's
// geography path, so "us/northeast" matches "us/northeast/ny/albany"),
// country, region, city, timezone, owner, franchisee, format,
// driveThruLanes, nodes, devices, deliveryPartners, languages, group
// (membership, computed by package target) and label.<name>.
//
// Everything that can be prepared is prepared once: NewFacts turns a store
// into per-key value lists and Compile turns a selector into a Matcher
// whose Matches does no allocation. Explain says, in words, why each
// requirement did or did not match. Check reports malformed selectors with
// field paths, for the loader and for package target.
package selector
