"""One call per built-in tool: the inputs, and the request the provider's API must get for
them (method, path and query under the provider's base URL, and the body), written from the
API's documentation, not from the tool's binding."""

from __future__ import annotations

from typing import Any, NamedTuple


class Case(NamedTuple):
    tool: str
    params: dict[str, Any]
    method: str
    target: str  # path?query under the provider's proxy_url
    body: Any = None  # a JSON value, a form string, or None for no body


ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": []}]}
WHEN = {"dateTime": "2026-12-03T10:00:00Z"}
LATER = {"dateTime": "2026-12-03T11:00:00Z"}

CASES = [
    # GitHub
    Case("github_get_repo", {"owner": "octo", "repo": "hello"}, "GET", "/repos/octo/hello"),
    Case(
        "github_list_my_repos",
        {"visibility": "private", "sort": "pushed", "per_page": 5, "page": 2},
        "GET",
        "/user/repos?visibility=private&sort=pushed&per_page=5&page=2",
    ),
    Case(
        "github_list_issues",
        {
            "owner": "octo",
            "repo": "hello",
            "state": "all",
            "labels": "bug,ui",
            "assignee": "*",
            "per_page": 10,
        },
        "GET",
        "/repos/octo/hello/issues?state=all&labels=bug%2Cui&assignee=%2A&per_page=10",
    ),
    Case(
        "github_get_issue",
        {"owner": "octo", "repo": "hello", "issue_number": 42},
        "GET",
        "/repos/octo/hello/issues/42",
    ),
    Case(
        "github_create_issue",
        {
            "owner": "octo",
            "repo": "hello",
            "title": "Crash",
            "body": "Steps",
            "labels": ["bug"],
            "assignees": ["mona"],
        },
        "POST",
        "/repos/octo/hello/issues",
        {"title": "Crash", "body": "Steps", "labels": ["bug"], "assignees": ["mona"]},
    ),
    Case(
        "github_update_issue",
        {"owner": "octo", "repo": "hello", "issue_number": 7, "state": "closed"},
        "PATCH",
        "/repos/octo/hello/issues/7",
        {"state": "closed"},
    ),
    Case(
        "github_create_issue_comment",
        {"owner": "octo", "repo": "hello", "issue_number": 7, "body": "Fixed in #9"},
        "POST",
        "/repos/octo/hello/issues/7/comments",
        {"body": "Fixed in #9"},
    ),
    Case(
        "github_list_pull_requests",
        {"owner": "octo", "repo": "hello", "state": "open", "base": "main"},
        "GET",
        "/repos/octo/hello/pulls?state=open&base=main",
    ),
    Case(
        "github_get_pull_request",
        {"owner": "octo", "repo": "hello", "pull_number": 3},
        "GET",
        "/repos/octo/hello/pulls/3",
    ),
    Case(
        "github_search_issues",
        {"q": "repo:octo/hello is:open label:bug", "per_page": 20},
        "GET",
        "/search/issues?q=repo%3Aocto%2Fhello%20is%3Aopen%20label%3Abug&per_page=20",
    ),
    Case("github_get_me", {}, "GET", "/user"),
    Case(
        "github_list_branches",
        {"owner": "octo", "repo": "hello", "per_page": 100},
        "GET",
        "/repos/octo/hello/branches?per_page=100",
    ),
    # Slack
    Case(
        "slack_send_message",
        {"channel": "C123", "text": "Deploy done", "thread_ts": "1700000000.0001"},
        "POST",
        "/chat.postMessage",
        {"channel": "C123", "text": "Deploy done", "thread_ts": "1700000000.0001"},
    ),
    Case(
        "slack_update_message",
        {"channel": "C123", "ts": "1700000000.0002", "text": "edited"},
        "POST",
        "/chat.update",
        {"channel": "C123", "ts": "1700000000.0002", "text": "edited"},
    ),
    Case(
        "slack_list_channels",
        {"types": "public_channel,private_channel", "exclude_archived": True, "limit": 200},
        "GET",
        "/conversations.list?types=public_channel%2Cprivate_channel&exclude_archived=true&limit=200",
    ),
    Case(
        "slack_get_channel_history",
        {"channel": "C123", "limit": 50, "oldest": "1700000000.0"},
        "GET",
        "/conversations.history?channel=C123&limit=50&oldest=1700000000.0",
    ),
    Case(
        "slack_get_thread_replies",
        {"channel": "C123", "ts": "1700000000.0001"},
        "GET",
        "/conversations.replies?channel=C123&ts=1700000000.0001",
    ),
    Case(
        "slack_list_users",
        {"limit": 100, "cursor": "dXNlcjpVMDYx"},
        "GET",
        "/users.list?limit=100&cursor=dXNlcjpVMDYx",
    ),
    Case("slack_get_user", {"user": "U061F7AUR"}, "GET", "/users.info?user=U061F7AUR"),
    Case(
        "slack_add_reaction",
        {"channel": "C123", "timestamp": "1700000000.0001", "name": "thumbsup"},
        "POST",
        "/reactions.add",
        {"channel": "C123", "timestamp": "1700000000.0001", "name": "thumbsup"},
    ),
    Case(
        "slack_search_messages",
        {"query": "in:#ops outage", "count": 5},
        "GET",
        "/search.messages?query=in%3A%23ops%20outage&count=5",
    ),
    # Google Calendar
    Case(
        "googlecalendar_list_calendars",
        {"maxResults": 50},
        "GET",
        "/users/me/calendarList?maxResults=50",
    ),
    Case(
        "googlecalendar_list_events",
        {
            "calendarId": "primary",
            "timeMin": "2026-12-01T00:00:00Z",
            "singleEvents": True,
            "orderBy": "startTime",
            "maxResults": 10,
        },
        "GET",
        "/calendars/primary/events?timeMin=2026-12-01T00%3A00%3A00Z&singleEvents=true"
        "&orderBy=startTime&maxResults=10",
    ),
    Case(
        "googlecalendar_get_event",
        {"calendarId": "team@group.calendar.google.com", "eventId": "ev1"},
        "GET",
        "/calendars/team%40group.calendar.google.com/events/ev1",
    ),
    Case(
        "googlecalendar_create_event",
        {
            "calendarId": "primary",
            "summary": "Sync",
            "start": WHEN,
            "end": LATER,
            "attendees": [{"email": "a@example.com"}],
            "sendUpdates": "all",
        },
        "POST",
        "/calendars/primary/events?sendUpdates=all",
        {"summary": "Sync", "start": WHEN, "end": LATER, "attendees": [{"email": "a@example.com"}]},
    ),
    Case(
        "googlecalendar_update_event",
        {"calendarId": "primary", "eventId": "ev1", "location": "Room 2"},
        "PATCH",
        "/calendars/primary/events/ev1",
        {"location": "Room 2"},
    ),
    Case(
        "googlecalendar_delete_event",
        {"calendarId": "primary", "eventId": "ev1", "sendUpdates": "none"},
        "DELETE",
        "/calendars/primary/events/ev1?sendUpdates=none",
    ),
    Case(
        "googlecalendar_find_free_busy",
        {
            "timeMin": "2026-12-03T00:00:00Z",
            "timeMax": "2026-12-04T00:00:00Z",
            "items": [{"id": "primary"}],
        },
        "POST",
        "/freeBusy",
        {
            "timeMin": "2026-12-03T00:00:00Z",
            "timeMax": "2026-12-04T00:00:00Z",
            "items": [{"id": "primary"}],
        },
    ),
    # Gmail
    Case(
        "gmail_list_messages",
        {"q": "from:boss is:unread", "labelIds": ["INBOX", "IMPORTANT"], "maxResults": 5},
        "GET",
        "/users/me/messages?q=from%3Aboss%20is%3Aunread&labelIds=INBOX&labelIds=IMPORTANT"
        "&maxResults=5",
    ),
    Case(
        "gmail_get_message",
        {"id": "18c0a", "format": "metadata"},
        "GET",
        "/users/me/messages/18c0a?format=metadata",
    ),
    Case(
        "gmail_send_message",
        {"raw": "VG86IGFAZXhhbXBsZS5jb20"},
        "POST",
        "/users/me/messages/send",
        {"raw": "VG86IGFAZXhhbXBsZS5jb20"},
    ),
    Case(
        "gmail_modify_message_labels",
        {"id": "18c0a", "removeLabelIds": ["UNREAD"]},
        "POST",
        "/users/me/messages/18c0a/modify",
        {"removeLabelIds": ["UNREAD"]},
    ),
    Case("gmail_trash_message", {"id": "18c0a"}, "POST", "/users/me/messages/18c0a/trash"),
    Case("gmail_list_labels", {}, "GET", "/users/me/labels"),
    Case(
        "gmail_create_draft",
        {"message": {"raw": "RHJhZnQ"}},
        "POST",
        "/users/me/drafts",
        {"message": {"raw": "RHJhZnQ"}},
    ),
    Case(
        "gmail_get_thread",
        {"id": "th1", "format": "full"},
        "GET",
        "/users/me/threads/th1?format=full",
    ),
    Case("gmail_get_profile", {}, "GET", "/users/me/profile"),
    # Notion
    Case(
        "notion_search",
        {"query": "Roadmap", "filter": {"property": "object", "value": "page"}, "page_size": 10},
        "POST",
        "/search",
        {"query": "Roadmap", "filter": {"property": "object", "value": "page"}, "page_size": 10},
    ),
    Case("notion_get_page", {"page_id": "b55c9c91"}, "GET", "/pages/b55c9c91"),
    Case(
        "notion_create_page",
        {"parent": {"page_id": "p1"}, "properties": {"title": [{"text": {"content": "Notes"}}]}},
        "POST",
        "/pages",
        {"parent": {"page_id": "p1"}, "properties": {"title": [{"text": {"content": "Notes"}}]}},
    ),
    Case(
        "notion_update_page",
        {"page_id": "p1", "archived": True},
        "PATCH",
        "/pages/p1",
        {"archived": True},
    ),
    Case(
        "notion_query_database",
        {
            "database_id": "d1",
            "filter": {"property": "Done", "checkbox": {"equals": False}},
            "page_size": 25,
        },
        "POST",
        "/databases/d1/query",
        {"filter": {"property": "Done", "checkbox": {"equals": False}}, "page_size": 25},
    ),
    Case("notion_get_database", {"database_id": "d1"}, "GET", "/databases/d1"),
    Case(
        "notion_get_block_children",
        {"block_id": "p1", "page_size": 50},
        "GET",
        "/blocks/p1/children?page_size=50",
    ),
    Case(
        "notion_append_block_children",
        {"block_id": "p1", "children": [{"type": "divider", "divider": {}}]},
        "PATCH",
        "/blocks/p1/children",
        {"children": [{"type": "divider", "divider": {}}]},
    ),
    Case("notion_list_users", {"page_size": 100}, "GET", "/users?page_size=100"),
    # Jira
    Case(
        "jira_search_issues",
        {"jql": "project = ABC AND status = 'To Do'", "fields": "summary,status", "maxResults": 20},
        "GET",
        "/rest/api/3/search/jql?jql=project%20%3D%20ABC%20AND%20status%20%3D%20%27To%20Do%27"
        "&fields=summary%2Cstatus&maxResults=20",
    ),
    Case(
        "jira_get_issue",
        {"issueIdOrKey": "ABC-1", "fields": "summary"},
        "GET",
        "/rest/api/3/issue/ABC-1?fields=summary",
    ),
    Case(
        "jira_create_issue",
        {"fields": {"project": {"key": "ABC"}, "issuetype": {"name": "Bug"}, "summary": "Broken"}},
        "POST",
        "/rest/api/3/issue",
        {"fields": {"project": {"key": "ABC"}, "issuetype": {"name": "Bug"}, "summary": "Broken"}},
    ),
    Case(
        "jira_update_issue",
        {"issueIdOrKey": "ABC-1", "fields": {"summary": "Renamed"}, "notifyUsers": False},
        "PUT",
        "/rest/api/3/issue/ABC-1?notifyUsers=false",
        {"fields": {"summary": "Renamed"}},
    ),
    Case(
        "jira_add_comment",
        {"issueIdOrKey": "ABC-1", "body": ADF},
        "POST",
        "/rest/api/3/issue/ABC-1/comment",
        {"body": ADF},
    ),
    Case(
        "jira_list_transitions",
        {"issueIdOrKey": "ABC-1"},
        "GET",
        "/rest/api/3/issue/ABC-1/transitions",
    ),
    Case(
        "jira_transition_issue",
        {"issueIdOrKey": "ABC-1", "transition": {"id": "31"}},
        "POST",
        "/rest/api/3/issue/ABC-1/transitions",
        {"transition": {"id": "31"}},
    ),
    Case(
        "jira_search_projects",
        {"query": "pay", "maxResults": 10, "startAt": 0},
        "GET",
        "/rest/api/3/project/search?query=pay&maxResults=10&startAt=0",
    ),
    Case("jira_get_myself", {}, "GET", "/rest/api/3/myself"),
    # HubSpot
    Case(
        "hubspot_list_contacts",
        {"limit": 10, "after": "123", "properties": "email,firstname"},
        "GET",
        "/crm/v3/objects/contacts?limit=10&after=123&properties=email%2Cfirstname",
    ),
    Case(
        "hubspot_get_contact",
        {"contactId": "51", "properties": "email"},
        "GET",
        "/crm/v3/objects/contacts/51?properties=email",
    ),
    Case(
        "hubspot_create_contact",
        {"properties": {"email": "a@example.com", "firstname": "Ann"}},
        "POST",
        "/crm/v3/objects/contacts",
        {"properties": {"email": "a@example.com", "firstname": "Ann"}},
    ),
    Case(
        "hubspot_update_contact",
        {"contactId": "51", "properties": {"lifecyclestage": "customer"}},
        "PATCH",
        "/crm/v3/objects/contacts/51",
        {"properties": {"lifecyclestage": "customer"}},
    ),
    Case(
        "hubspot_search_contacts",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": "a@example.com"}]}
            ],
            "properties": ["email"],
            "limit": 5,
        },
        "POST",
        "/crm/v3/objects/contacts/search",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": "a@example.com"}]}
            ],
            "properties": ["email"],
            "limit": 5,
        },
    ),
    Case(
        "hubspot_list_companies",
        {"limit": 3, "archived": False},
        "GET",
        "/crm/v3/objects/companies?limit=3&archived=false",
    ),
    Case("hubspot_get_company", {"companyId": "9"}, "GET", "/crm/v3/objects/companies/9"),
    Case(
        "hubspot_create_company",
        {"properties": {"name": "Acme", "domain": "acme.example"}},
        "POST",
        "/crm/v3/objects/companies",
        {"properties": {"name": "Acme", "domain": "acme.example"}},
    ),
    Case(
        "hubspot_list_deals",
        {"properties": "dealname,amount"},
        "GET",
        "/crm/v3/objects/deals?properties=dealname%2Camount",
    ),
    Case("hubspot_get_deal", {"dealId": "77"}, "GET", "/crm/v3/objects/deals/77"),
    Case(
        "hubspot_create_deal",
        {"properties": {"dealname": "Renewal", "amount": "1200"}},
        "POST",
        "/crm/v3/objects/deals",
        {"properties": {"dealname": "Renewal", "amount": "1200"}},
    ),
    # Asana
    Case("asana_list_workspaces", {"limit": 10}, "GET", "/workspaces?limit=10"),
    Case(
        "asana_list_projects",
        {"workspace": "111", "archived": False},
        "GET",
        "/projects?workspace=111&archived=false",
    ),
    Case(
        "asana_list_tasks",
        {
            "assignee": "me",
            "workspace": "111",
            "completed_since": "now",
            "opt_fields": "name,due_on",
        },
        "GET",
        "/tasks?assignee=me&workspace=111&completed_since=now&opt_fields=name%2Cdue_on",
    ),
    Case(
        "asana_get_task",
        {"task_gid": "222", "opt_fields": "name"},
        "GET",
        "/tasks/222?opt_fields=name",
    ),
    Case(
        "asana_create_task",
        {"data": {"name": "Write docs", "workspace": "111", "due_on": "2026-12-10"}},
        "POST",
        "/tasks",
        {"data": {"name": "Write docs", "workspace": "111", "due_on": "2026-12-10"}},
    ),
    Case(
        "asana_update_task",
        {"task_gid": "222", "data": {"completed": True}},
        "PUT",
        "/tasks/222",
        {"data": {"completed": True}},
    ),
    Case(
        "asana_add_comment",
        {"task_gid": "222", "data": {"text": "Done"}},
        "POST",
        "/tasks/222/stories",
        {"data": {"text": "Done"}},
    ),
    # Stripe (form bodies)
    Case(
        "stripe_list_customers",
        {"email": "a@example.com", "limit": 3},
        "GET",
        "/v1/customers?email=a%40example.com&limit=3",
    ),
    Case("stripe_get_customer", {"customer": "cus_123"}, "GET", "/v1/customers/cus_123"),
    Case(
        "stripe_create_customer",
        {"email": "a@example.com", "name": "Ann Lee"},
        "POST",
        "/v1/customers",
        "email=a%40example.com&name=Ann%20Lee",
    ),
    Case(
        "stripe_list_charges",
        {"customer": "cus_123", "starting_after": "ch_9"},
        "GET",
        "/v1/charges?customer=cus_123&starting_after=ch_9",
    ),
    Case(
        "stripe_list_payment_intents",
        {"customer": "cus_123", "limit": 100},
        "GET",
        "/v1/payment_intents?customer=cus_123&limit=100",
    ),
    Case(
        "stripe_list_invoices",
        {"customer": "cus_123", "status": "open"},
        "GET",
        "/v1/invoices?customer=cus_123&status=open",
    ),
    Case(
        "stripe_list_subscriptions",
        {"status": "all", "limit": 10},
        "GET",
        "/v1/subscriptions?status=all&limit=10",
    ),
    Case(
        "stripe_create_refund",
        {"payment_intent": "pi_1", "amount": 500, "reason": "requested_by_customer"},
        "POST",
        "/v1/refunds",
        "payment_intent=pi_1&amount=500&reason=requested_by_customer",
    ),
    Case("stripe_get_balance", {}, "GET", "/v1/balance"),
    # Todoist
    Case(
        "todoist_list_tasks",
        {"project_id": "6X7", "limit": 50},
        "GET",
        "/tasks?project_id=6X7&limit=50",
    ),
    Case("todoist_get_task", {"task_id": "6X7rM"}, "GET", "/tasks/6X7rM"),
    Case(
        "todoist_create_task",
        {"content": "Buy milk", "due_string": "tomorrow at 9", "priority": 4, "labels": ["home"]},
        "POST",
        "/tasks",
        {"content": "Buy milk", "due_string": "tomorrow at 9", "priority": 4, "labels": ["home"]},
    ),
    Case("todoist_close_task", {"task_id": "6X7rM"}, "POST", "/tasks/6X7rM/close"),
    Case("todoist_list_projects", {"limit": 20}, "GET", "/projects?limit=20"),
    # Zoom
    Case(
        "zoom_list_meetings",
        {"type": "upcoming", "page_size": 30},
        "GET",
        "/users/me/meetings?type=upcoming&page_size=30",
    ),
    Case("zoom_get_meeting", {"meetingId": "85746065432"}, "GET", "/meetings/85746065432"),
    Case(
        "zoom_create_meeting",
        {"topic": "Standup", "type": 2, "start_time": "2026-12-03T09:00:00Z", "duration": 15},
        "POST",
        "/users/me/meetings",
        {"topic": "Standup", "type": 2, "start_time": "2026-12-03T09:00:00Z", "duration": 15},
    ),
    Case("zoom_delete_meeting", {"meetingId": "85746065432"}, "DELETE", "/meetings/85746065432"),
]
