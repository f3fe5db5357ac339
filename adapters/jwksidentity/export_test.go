package jwksidentity

import "time"

// NextRefresh is the wait before the next background fetch.
func (r *RemoteKeys) NextRefresh() time.Duration { return r.nextRefresh() }
