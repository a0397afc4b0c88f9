from ninja import Router, Schema

from salestarget.accounts.scoping import scope_of

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    role: str
    person_id: int | None


@router.get("/me", response=MeOut)
def me(request):
    scope = scope_of(request.user)
    return {"username": request.user.get_username(), "role": scope.role, "person_id": scope.person_id}
