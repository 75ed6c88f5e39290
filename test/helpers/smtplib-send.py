"""Sends messages with Python's smtplib for the integration tests (see python-smtp.ts).

Reads one JSON request on stdin, prints one JSON result on stdout. Every message gets a result;
smtplib exceptions are reported by class name with the server's code and text.
"""

import json
import smtplib
import ssl
import sys
from email.message import EmailMessage


def decode(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def send_one(smtp, spec):
    if spec["method"] == "send_message":
        msg = EmailMessage()
        msg["From"] = spec["from"]
        msg["To"] = ", ".join(spec["to"])
        msg["Subject"] = spec["subject"]
        msg.set_content(spec["body"])
        refused = smtp.send_message(msg)
    else:
        refused = smtp.sendmail(spec["from"], spec["to"], spec["data"].encode("utf-8"))
    return {
        "ok": True,
        "refused": {rcpt: [code, decode(text)] for rcpt, (code, text) in refused.items()},
    }


def main():
    request = json.load(sys.stdin)
    results = []
    smtp = smtplib.SMTP(
        request["host"], request["port"], local_hostname="python.test", timeout=request["timeoutS"]
    )
    try:
        smtp.ehlo()
        if request.get("ca"):
            context = ssl.create_default_context(cadata=request["ca"])
            smtp.starttls(context=context)
            smtp.ehlo()
        features = sorted(smtp.esmtp_features.keys())
        for spec in request["messages"]:
            try:
                results.append(send_one(smtp, spec))
            except smtplib.SMTPRecipientsRefused as error:
                results.append(
                    {
                        "ok": False,
                        "error": "SMTPRecipientsRefused",
                        "recipients": {
                            rcpt: [code, decode(text)]
                            for rcpt, (code, text) in error.recipients.items()
                        },
                    }
                )
            except smtplib.SMTPResponseException as error:
                results.append(
                    {
                        "ok": False,
                        "error": type(error).__name__,
                        "code": error.smtp_code,
                        "text": decode(error.smtp_error),
                    }
                )
        smtp.quit()
    finally:
        smtp.close()
    json.dump({"features": features, "results": results}, sys.stdout)


main()
