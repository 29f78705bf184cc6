use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Tag {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
struct Post {
    id: Option<i64>,
    title: String,
}

// A tag's key is an `i64`: a text key does not compile.
async fn link(post: &Post, db: &Database) -> throughline::Result<()> {
    post.tags().add_keys(["rust"], db).await?;
    Ok(())
}

fn main() {
    let _ = link;
}
