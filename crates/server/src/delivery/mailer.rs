//! Where e-mail goes: an SMTP server, or a folder of `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, timeout: Duration },
    Files { transport: AsyncFileTransport<Tokio1Executor>, dir: PathBuf },
}

/// Why a send failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub text: String,
    /// The server refused for good (a 5xx reply, such as an unknown user).
    pub permanent: bool,
}

impl Mailer {
    /// The mailer the settings ask for: SMTP if `smtp_url` is set, else a
    /// folder if `mail_dir` is; `None` when e-mail is off.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let timeout = Duration::from_secs(settings.smtp_timeout_seconds.max(1));
        if let Some(url) = &settings.smtp_url {
            // Connections are pooled and reused across messages (a new
            // SMTP conversation costs a handshake, and TLS a second one),
            // as many as the worker has messages in flight.
            let pool = PoolConfig::new().max_size(u32::try_from(super::IN_FLIGHT).unwrap_or(u32::MAX));
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| anyhow::anyhow!("smtp_url is not usable: {e}"))?
                .timeout(Some(timeout))
                .pool_config(pool)
                .build();
            return Ok(Some(Mailer::Smtp { transport, timeout }));
        }
        if let Some(dir) = &settings.mail_dir {
            std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("mail_dir {}: {e}", dir.display()))?;
            return Ok(Some(Mailer::Files { transport: AsyncFileTransport::new(dir), dir: dir.clone() }));
        }
        Ok(None)
    }

    /// Sends one message. An SMTP send is bounded as a whole by the timeout:
    /// lettre's own covers each step, not a server that trickles.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp { transport, timeout } => {
                match tokio::time::timeout(*timeout, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(SendError { permanent: e.is_permanent(), text: e.to_string() }),
                    Err(_) => {
                        Err(SendError { text: format!("no answer within {} s", timeout.as_secs()), permanent: false })
                    }
                }
            }
            Mailer::Files { transport, .. } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError { text: e.to_string(), permanent: false }),
        }
    }

    /// Where the messages go, for people to read in logs.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "SMTP".to_owned(),
            Mailer::Files { dir, .. } => format!("files in {}", dir.display()),
        }
    }
}
