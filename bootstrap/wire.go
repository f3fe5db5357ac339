//go:build wireinject

package bootstrap

import (
	"context"
	"log/slog"

	"github.com/google/wire"
)

// InitializeServer builds the server for cfg. The cleanup stops background
// work (identity key refreshes).
func InitializeServer(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, func(), error) {
	wire.Build(ServerSet)
	return nil, nil, nil
}
