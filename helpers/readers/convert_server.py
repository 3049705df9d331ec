"""LibreOffice converter process: run under Debian's own Python (python3-uno), never imported by ogi.

    /usr/bin/python3 convert_server.py PROFILE_DIR

It starts one headless LibreOffice (its own user profile, a private pipe), connects to it over UNO,
prints `{"ready": true}` and then answers one JSON request per stdin line,
`{"src": path, "dst": path, "filter": name}` (and `"password"` to write a protected file), with `{"ok": true}` or `{"error": message}`.
Documents are loaded hidden, read-only, with macros never run and links never updated (no linked
image or object is fetched from a URL), and closed after each conversion. When LibreOffice dies
the process exits (code 3); the client starts a new one.
"""

import json
import os
import subprocess
import sys
import time

import uno  # noqa: F401 - Debian's python3-uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.lang import DisposedException

NO_UPDATE = 0          # com.sun.star.document.UpdateDocMode.NO_UPDATE
NEVER_EXECUTE = 0      # com.sun.star.document.MacroExecMode.NEVER_EXECUTE


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


# The profile's settings: images and objects linked from outside the document are never loaded
# (and every HTTP(S) request goes to a dead proxy, should the client not have cut the network),
# macros never run (LibreOffice ignores a setting its version does not know).
SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks"
 oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableActiveContent"
 oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel"
 oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>1</value>
</prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyName" oor:op="fuse"><value>127.0.0.1</value>
</prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyPort" oor:op="fuse"><value>9</value>
</prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyName" oor:op="fuse"><value>127.0.0.1</value>
</prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyPort" oor:op="fuse"><value>9</value>
</prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetNoProxy" oor:op="fuse"><value></value>
</prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value>
</prop></item>
</oor:items>
"""


def start(profile):
    pipe = f"ogi_convert_{os.getpid()}"
    os.makedirs(os.path.join(profile, "user"), exist_ok=True)
    with open(os.path.join(profile, "user", "registrymodifications.xcu"), "w", encoding="utf-8") as fh:
        fh.write(SETTINGS)
    office = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
         "--nofirststartwizard", f"-env:UserInstallation=file://{profile}",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 60
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if office.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"LibreOffice did not start (exit {office.poll()})")
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return office, desktop


def convert(desktop, src, dst, filter_name, password=None):
    load = (prop("Hidden", True), prop("ReadOnly", True), prop("MacroExecutionMode", NEVER_EXECUTE),
            prop("UpdateDocMode", NO_UPDATE), prop("Password", ""), prop("RepairPackage", False))
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)
    if doc is None:
        raise ValueError("LibreOffice cannot open it (password-protected or damaged)")
    try:
        store = [prop("FilterName", filter_name), prop("Overwrite", True)]
        if password:  # the generator's password-protected files
            store.append(prop("Password", password))
        doc.storeToURL(uno.systemPathToFileUrl(dst), tuple(store))
    finally:
        doc.close(True)


def main():
    office, desktop = start(sys.argv[1])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            convert(desktop, req["src"], req["dst"], req["filter"], req.get("password"))
            reply = {"ok": True}
        except DisposedException:
            print(json.dumps({"error": "LibreOffice stopped during the conversion"}), flush=True)
            office.kill()
            sys.exit(3)
        except Exception as exc:  # noqa: BLE001 - every failure is an answer, never a dead server
            msg = getattr(exc, "Message", "") or str(exc) or type(exc).__name__
            reply = {"error": f"{type(exc).__name__}: {msg}".strip()}
        if office.poll() is not None:
            print(json.dumps({"error": "LibreOffice stopped during the conversion"}), flush=True)
            sys.exit(3)
        print(json.dumps(reply), flush=True)
    try:
        desktop.terminate()
    except Exception:  # noqa: BLE001
        pass
    office.kill()


if __name__ == "__main__":
    main()
