//! The faults, one phase at a time.

use entra_emulator::{Emulator, Endpoint, Fault};
use entra_test_support::RedisServer;

/// One stretch of the run and the fault it plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No fault.
    Calm,
    /// The managed-identity endpoint answers every request `429` with `Retry-After: 1`.
    Throttled,
    /// It answers every request `503`.
    ServerErrors,
    /// It sends half of each answer, then drops the connection.
    DroppedConnections,
    /// Redis is killed for the first half of the phase, then started again, empty.
    StoreRestart,
    /// The first time: the signing key rotates to the one listed since the start (as
    /// Entra lists a key before it signs with it), and callers carry tokens signed
    /// with it. Later: the key set endpoint answers `503`.
    KeyRotation,
}

/// The cycle [`super::run`] plays.
pub const PHASES: [Phase; 6] = [
    Phase::Calm,
    Phase::Throttled,
    Phase::ServerErrors,
    Phase::DroppedConnections,
    Phase::StoreRestart,
    Phase::KeyRotation,
];

/// What a phase did.
pub(super) struct Applied {
    pub(super) name: &'static str,
    pub(super) rotated: bool,
    pub(super) store_down: bool,
}

impl Phase {
    /// Starts the phase: sets its faults (cleared by the caller at its end), kills
    /// Redis or rotates the key.
    pub(super) fn begin(
        self,
        emulator: &Emulator,
        redis: &mut RedisServer,
        rotated: &mut bool,
    ) -> Applied {
        let mut applied = Applied {
            name: self.name(*rotated),
            rotated: false,
            store_down: false,
        };
        let persistent = |endpoint, fault| emulator.set_persistent_fault(endpoint, Some(fault));
        match self {
            Phase::Calm => {}
            Phase::Throttled => persistent(
                Endpoint::Imds,
                Fault::TooManyRequests {
                    retry_after: Some("1".into()),
                },
            ),
            Phase::ServerErrors => persistent(Endpoint::Imds, Fault::Status(503)),
            Phase::DroppedConnections => persistent(Endpoint::Imds, Fault::DropConnection),
            Phase::StoreRestart => {
                applied.store_down = true;
                redis.kill();
            }
            Phase::KeyRotation if !*rotated => {
                emulator.rotate_signing_key();
                *rotated = true;
                applied.rotated = true;
            }
            Phase::KeyRotation => persistent(Endpoint::Jwks, Fault::Status(503)),
        }
        applied
    }

    /// Halfway through: Redis comes back, empty.
    pub(super) fn halfway(self, redis: &mut RedisServer) {
        if self == Phase::StoreRestart {
            redis.restart();
        }
    }

    fn name(self, rotated: bool) -> &'static str {
        match self {
            Phase::Calm => "calm",
            Phase::Throttled => "MI endpoint 429",
            Phase::ServerErrors => "MI endpoint 503",
            Phase::DroppedConnections => "MI endpoint drops connections",
            Phase::StoreRestart => "Redis down, then restarted empty",
            Phase::KeyRotation if !rotated => "signing key rotated",
            Phase::KeyRotation => "key set endpoint 503",
        }
    }
}
