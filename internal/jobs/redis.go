package jobs

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
)

// OpenRedis connects to the Redis at url (redis://, rediss://, redis-socket:// or
// redis-sentinel://) and checks it answers.
func OpenRedis(ctx context.Context, url string) (redis.UniversalClient, error) {
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		return nil, fmt.Errorf("jobs: REDIS_URL: %w", err)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("jobs: REDIS_URL: unsupported client")
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("jobs: connect to Redis: %w", err)
	}
	return rdb, nil
}

// Monitor returns the asynqmon web UI rooted at root, for mounting behind admin login.
func Monitor(url, root string) (http.Handler, error) {
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		return nil, fmt.Errorf("jobs: REDIS_URL: %w", err)
	}
	return asynqmon.New(asynqmon.Options{RootPath: root, RedisConnOpt: opt}), nil
}
