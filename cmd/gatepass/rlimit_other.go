//go:build !unix

package main

import "errors"

// raiseFileLimit has no open-file limit to read here.
func raiseFileLimit() (uint64, error) {
	return 0, errors.New("not known on this system")
}
