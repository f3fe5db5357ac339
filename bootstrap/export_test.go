package bootstrap

import (
	"reflect"
	"strings"
)

// MayEqualPairs are, for the tests, the pairs of secret variables that a
// mayEqual tag lets hold one value, each pair both ways round.
func MayEqualPairs() map[[2]string]bool {
	out := map[[2]string]bool{}
	walkEnv(reflect.ValueOf(&environment{Transports: newTransportEnvs()}).Elem(), "", func(name string, _ reflect.Value, sf reflect.StructField) {
		tag, ok := sf.Tag.Lookup(mayEqualTag)
		if !ok {
			return
		}
		for _, other := range strings.Split(tag, ",") {
			out[[2]string{name, other}], out[[2]string{other, name}] = true, true
		}
	})
	return out
}
