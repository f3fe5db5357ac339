// Package domain holds what gatepass is about, free of any transport or
// library: the verified caller (Principal), the claims of the two connection
// grants, the grants themselves, the sentinel errors, and the ports through
// which the application reaches signers, identity providers, clocks and id
// sources.
package domain
