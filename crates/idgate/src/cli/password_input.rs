//! Passwords come from a prompt or standard input, never from argv (argv is visible to
//! every user of the machine in `ps`).

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use idgate_core::password::check_new_password;
use zeroize::Zeroizing;

/// Reads a new password: prompted twice on a terminal, else the first line of stdin.
pub fn read_new_password() -> anyhow::Result<Zeroizing<String>> {
    let password = if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(
            rpassword::prompt_password("Password: ").context("reading the password")?,
        );
        let second = Zeroizing::new(
            rpassword::prompt_password("Repeat password: ").context("reading the password")?,
        );
        if *first != *second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_string())
    };
    check_new_password(&password).map_err(|e| {
        anyhow::anyhow!("{e} (type it at the prompt, or pipe it on standard input: `printf '%s\\n' \"$PW\" | idgate user …`)")
    })?;
    Ok(password)
}
