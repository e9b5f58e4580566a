"""Schemas of uploads (chat/views_attachments.py).

The upload's form is described as an OpenAPI request body, not as a ninja `File`
parameter: ninja would read the form before the view runs, and the view refuses an upload
by its declared length before the form is read at all (docs/protocol.md, "Uploading
files"); it also reads the field itself, so that two files are refused, not one taken.
"""

from .records import Attachment, Record

UPLOAD_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "title": "Upload",
                "type": "object",
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The file, with its name (its extension decides its "
                        "type); exactly one.",
                    }
                },
                "required": ["file"],
            }
        }
    },
}


class AttachmentAnswer(Record):
    attachment: Attachment
