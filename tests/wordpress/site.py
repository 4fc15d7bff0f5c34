"""A real WordPress (Debian's `wordpress` package) on loopback for the plugin's
tests: MariaDB in a folder of its own, the site installed by WordPress's own
installer functions, served by PHP's built-in server.

Debian's wp-config.php reads /etc/wordpress/config-<name>.php; each site
writes its own file there (named after its port) and removes it when done.
Outbound requests other than to loopback are blocked, so WordPress never
waits for its update servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.browser.conftest import need
from tests.support.smtp import free_port

WORDPRESS = Path("/usr/share/wordpress")
CONFIG_DIR = Path("/etc/wordpress")
ADMIN = ("admin", "admin-password-for-tests")

ROUTER = Path(__file__).parent / "php" / "router.php"

# Debian's wp-config.php picks the site's file by $_SERVER['WORDPRESS_CONFIG'].
PREPEND = "<?php\n$_SERVER['WORDPRESS_CONFIG'] = getenv( 'WORDPRESS_CONFIG' );\n"

CONFIG = """<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wordpress' );
define( 'DB_PASSWORD', 'wordpress' );
define( 'DB_HOST', '127.0.0.1:{db_port}' );
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_CONTENT_DIR', '{content}' );
define( 'WP_CONTENT_URL', '{url}/wp-content' );
define( 'FS_METHOD', 'direct' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', '{folder}/debug.log' );
define( 'WP_DEBUG_DISPLAY', false );
{secret}
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
		'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $key ) {{
	define( $key, '{salt}' . $key );
}}
"""


class WordPressSite:
    """One WordPress site: `url`, `php(code)` to run PHP inside it, `stop()`."""

    def __init__(self, folder: Path, secret: str = "", port: int | None = None) -> None:
        self.php_bin = need("php", "php-cli")
        self.mariadbd = need("/usr/sbin/mariadbd", "mariadb-server")
        need("mariadb-install-db", "mariadb-server")
        if not (WORDPRESS / "wp-load.php").is_file():
            need("wordpress-is-missing", "wordpress")  # skips, or fails in CI
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.name = f"portal-test-{self.port}"
        self.content = folder / "wp-content"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.config_file = CONFIG_DIR / f"config-{self.name}.php"
        self.secret = secret

    # -- starting and stopping ------------------------------------------------------

    def start(self) -> WordPressSite:
        try:
            self._start_database()
            self._write_config()
            self._install()
            self._serve()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_database(self) -> None:
        data = self.folder / "mariadb"
        subprocess.run(["mariadb-install-db", "--user=root", f"--datadir={data}",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, timeout=60)
        self.db_port = free_port()
        socket = self.folder / "mariadb.sock"
        self._spawn([self.mariadbd, "--no-defaults", "--user=root", f"--datadir={data}",
                     f"--socket={socket}", f"--port={self.db_port}", "--bind-address=127.0.0.1",
                     "--skip-log-bin", "--innodb-buffer-pool-size=32M"], "mariadb.log")
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert time.monotonic() < deadline, (self.folder / "mariadb.log").read_text()
            time.sleep(0.05)
        subprocess.run(["mariadb", "--no-defaults", f"--socket={socket}", "-uroot", "-e",
                        "CREATE DATABASE wordpress; CREATE USER 'wordpress'@'127.0.0.1' "
                        "IDENTIFIED BY 'wordpress'; GRANT ALL ON wordpress.* TO "
                        "'wordpress'@'127.0.0.1';"], check=True, timeout=30)

    def _write_config(self) -> None:
        for sub in ("plugins", "uploads", "themes", "languages"):
            (self.content / sub).mkdir(parents=True, exist_ok=True)
        (self.content / "themes" / "twentytwentythree").symlink_to(
            WORDPRESS / "wp-content" / "themes" / "twentytwentythree")
        # WordPress's own Spanish and Basque (Debian's wordpress-l10n): a site may use them.
        for catalog in (WORDPRESS / "wp-content" / "languages").glob("*.mo"):
            if catalog.stem.split("-")[-1] in ("eu", "es_ES"):
                (self.content / "languages" / catalog.name).symlink_to(catalog)
        secret = f"define( 'PREFERENCE_PORTAL_SECRET', '{self.secret}' );" if self.secret else ""
        CONFIG_DIR.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(CONFIG.format(
            db_port=self.db_port, url=self.url, content=self.content, folder=self.folder,
            secret=secret, salt=os.urandom(16).hex()), encoding="utf-8")
        (self.folder / "prepend.php").write_text(PREPEND, encoding="utf-8")

    def _install(self) -> None:
        user, password = ADMIN
        self.php(f"""
            require_once ABSPATH . 'wp-admin/includes/upgrade.php';
            wp_install( 'Demo Elkartea', '{user}', 'admin@example.org', true, '', '{password}' );
        """, installing=True)

    def _serve(self) -> None:
        self._spawn([self.php_bin, "-d", f"auto_prepend_file={self.folder / 'prepend.php'}",
                     "-S", f"127.0.0.1:{self.port}", "-t", str(WORDPRESS),
                     str(ROUTER)], "php-server.log",
                    env={"PHP_CLI_SERVER_WORKERS": "4",
                         "PORTAL_TEST_WP_CONTENT": str(self.content)})
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/wp-login.php", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "WordPress did not start"
            time.sleep(0.1)

    def _spawn(self, command: list[str], log: str, env: dict[str, str] | None = None) -> None:
        output = (self.folder / log).open("wb")
        self.processes.append(subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "WORDPRESS_CONFIG": self.name, **(env or {})}))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the server and its workers
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)
        self.processes.clear()
        self.config_file.unlink(missing_ok=True)

    # -- inside the site --------------------------------------------------------------

    def php(self, code: str, installing: bool = False, clock: str = "") -> str:
        """Run PHP inside WordPress (after wp-load.php); returns what it printed.
        `clock` sets this run's clock apart (libfaketime, e.g. "-120s")."""
        script = self.folder / "run.php"
        host = f"localhost:{self.port}"
        script.write_text(
            "<?php\n"
            f"$_SERVER['HTTP_HOST'] = '{host}';\n$_SERVER['REQUEST_URI'] = '/';\n"
            f"$_SERVER['WORDPRESS_CONFIG'] = '{self.name}';\n"
            + ("define( 'WP_INSTALLING', true );\n" if installing else "")
            + f"require '{WORDPRESS}/wp-load.php';\n" + code + "\n", encoding="utf-8")
        command = [self.php_bin, str(script)]
        if clock:
            command = [need("faketime", "faketime"), "-f", clock, *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def php_json(self, code: str, clock: str = "") -> object:
        """What `code` prints with json_encode() on its last line, decoded."""
        return json.loads(self.php(code, clock=clock).strip().splitlines()[-1])

    def add_member(self, login: str, email: str, password: str, role: str = "subscriber",
                   name: str = "") -> int:
        return int(str(self.php_json(f"""
            $id = wp_insert_user( array( 'user_login' => '{login}', 'user_email' => '{email}',
                'user_pass' => '{password}', 'role' => '{role}', 'display_name' => '{name}' ) );
            echo json_encode( is_wp_error( $id ) ? $id->get_error_message() : $id ), "\\n";
        """)))

    def our_log_lines(self) -> list[str]:
        """Lines of WordPress's debug log about the plugin (notices, warnings, errors)."""
        log = self.folder / "debug.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return [line for line in text.splitlines() if "preference-portal" in line]
