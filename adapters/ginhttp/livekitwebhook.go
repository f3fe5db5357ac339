package ginhttp

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// RouteLiveKitWebhook receives livekit-server's webhook calls, on the
// public listener, while LiveKit is enabled.
const RouteLiveKitWebhook = "/webhooks/livekit"

// Bounds of the LiveKit webhook.
const (
	liveKitWebhookBytes = 64 << 10
	// liveKitWebhookType is the media type livekit-server sends its
	// events with, so that a receiver verifies before it parses.
	liveKitWebhookType = "application/webhook+json"
)

// receiveLiveKitWebhook answers livekit-server's webhook calls: 200 once
// the event is handled (a participant that joined although revoked is
// removed), 401 for a call not signed with the API key's secret over its
// body, 413 past 64 KiB; nothing is done for either.
func receiveLiveKitWebhook(h *handlers, w application.WebhookReceiver) gin.HandlerFunc {
	return func(c *gin.Context) {
		noStore(c)
		if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != liveKitWebhookType {
			writeProblem(c, problemUnsupportedWebhookMedia)
			return
		}
		raw, err := readBody(c, liveKitWebhookBytes)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) || c.Request.ContentLength > liveKitWebhookBytes {
				writeProblem(c, problemBodyTooLarge)
				return
			}
			writeProblem(c, problemMalformedBody)
			return
		}
		authorization := c.GetHeader("Authorization")
		if len(c.Request.Header["Authorization"]) > 1 {
			authorization = "" // which one would LiveKit mean?
		}
		out, err := w.Receive(c.Request.Context(), application.ReceiveWebhook{Authorization: authorization, Body: raw})
		switch {
		case err == nil:
			// A joining participant is what the webhook is for; the other
			// events (tracks, rooms) are many and tell nothing.
			level := slog.LevelDebug
			if out.Event == domain.LiveKitParticipantJoined {
				level = slog.LevelInfo
			}
			h.log.Log(c, level, "livekit webhook", "event", out.Event, "removed", out.Removed)
			c.JSON(http.StatusOK, gin.H{"status": "ok"})
		case errors.Is(err, domain.ErrInvalidWebhook):
			h.log.WarnContext(c, "livekit webhook refused", "error", err)
			writeProblem(c, problemInvalidSignature)
		case errors.Is(err, domain.ErrMalformedWebhook):
			writeProblem(c, problemMalformedBody)
		default:
			h.fail(c, err)
		}
	}
}

// LiveKit's webhook.
var _ = registerWebhook(domain.GrantLiveKit, RouteLiveKitWebhook, receiveLiveKitWebhook)
