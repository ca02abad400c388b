import asyncio


async def fetch(session, url):
    async with session.get(url) as response, other() as (a, b):
        return await response.text()


async def iterate(source):
    async for item in source:
        yield item
    else:
        pass
    async for a, *b in source:
        continue
    result = [x async for x in source if await x]
    gen = (await y for y in range(3))
    s = {await z async for z in source}
    d = {k: await v async for k, v in source}
    await asyncio.sleep(0)
    return await (await fetch(None, "x"))


async def nested():
    async def inner():
        await outer
    async with a:
        pass
    async with (a as b, c as d):
        pass
    async with (a, b):
        pass


def sync_genexp_with_async_not_allowed_here_is_fine():
    return [x for x in y]
