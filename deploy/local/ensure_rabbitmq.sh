#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers on 127.0.0.1:5672 before the tests.
# Use the running one; else start an installed one; else install it with
# apt-get when root; else fail and say what to do. Never skips silently.
set -euo pipefail
host=${RABBITMQ_HOST:-127.0.0.1}
port=${RABBITMQ_PORT:-5672}

listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

wait_for_broker() {
  for _ in $(seq 1 90); do
    if listening; then
      # The port opens before the broker accepts logins: ask the node itself.
      if command -v rabbitmqctl >/dev/null 2>&1; then
        rabbitmqctl -q await_startup >/dev/null 2>&1 && return 0
      else
        return 0
      fi
    fi
    sleep 1
  done
  return 1
}

if listening; then
  echo "rabbitmq: running on $host:$port"
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "rabbitmq: not installed; installing rabbitmq-server with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq rabbitmq-server >/dev/null
  else
    echo "rabbitmq: not running on $host:$port and not installed." >&2
    echo "Install it (Debian: sudo apt-get install rabbitmq-server) or set AMQP_URL to a broker." >&2
    exit 1
  fi
fi

if ! listening; then
  echo "rabbitmq: installed but stopped; starting it"
  if [ "$(id -u)" = "0" ]; then
    rabbitmq-server -detached >/dev/null 2>&1 || true
  else
    sudo -n rabbitmq-server -detached >/dev/null 2>&1 || rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
fi

if wait_for_broker; then
  echo "rabbitmq: running on $host:$port"
else
  echo "rabbitmq: could not start a broker on $host:$port; see /var/log/rabbitmq/." >&2
  exit 1
fi
