"""What a request ID may be: shared by the API's input checks and the services that look one up."""

import re

from django.core.validators import RegexValidator

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_id_validator = RegexValidator(REQUEST_ID_PATTERN, "Use 1-64 characters of A-Z a-z 0-9 . _ : -")
